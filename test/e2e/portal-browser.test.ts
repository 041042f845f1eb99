import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { ADMIN_TOKEN, addAccount } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { hasChromium, launchChromium } from "../helpers/browser";
import { freePort } from "../helpers/server";

const PASSWORD = "correct horse battery";

/**
 * Every answer says Referrer-Policy: no-referrer, under which a browser sends `Origin: null` with a
 * form's POST (Fetch, "append a request Origin header"): the sign-in page must relax it for itself,
 * or no browser can ever sign in past the Origin check.
 */
describe.skipIf(!hasChromium)("the sign-in portal in a real browser", () => {
  const port = freePort();
  const PUBLIC = `http://auth.keyward.test:${port}`;
  let browser: Browser;
  let server: ReturnType<typeof Bun.serve>;
  const posts: (string | null)[] = [];

  beforeAll(async () => {
    const app = inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "keyward.test" });
    await addAccount(app, "alice", PASSWORD);
    server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      fetch(request) {
        if (request.method === "POST") posts.push(request.headers.get("origin"));
        return app.app.handle(request);
      },
    });
    browser = await launchChromium(["--host-resolver-rules=MAP *.keyward.test 127.0.0.1"]);
  });
  afterAll(async () => {
    await browser?.close();
    server?.stop(true);
  });

  test("the form signs in (its POST carries the portal's Origin) and lands on the target; sign-out works the same way", async () => {
    const page = await browser.newPage();
    const target = `http://wiki.keyward.test:${port}/health`;
    await page.goto(`${PUBLIC}/signin?rd=${encodeURIComponent(target)}`);
    await page.fill("#username", "alice");
    await page.fill("#password", PASSWORD);
    const [landed] = await Promise.all([page.waitForNavigation(), page.click("button")]);
    expect(posts).toEqual([PUBLIC]);
    expect(landed!.status()).toBe(200);
    expect(page.url()).toBe(target);

    await page.goto(`${PUBLIC}/signin`);
    expect(await page.textContent("h1")).toBe("Signed in");
    await Promise.all([page.waitForNavigation(), page.click("button")]);
    expect(posts).toEqual([PUBLIC, PUBLIC]);
    expect(page.url()).toBe(`${PUBLIC}/signin`);
    expect(await page.textContent("h1")).toBe("Sign in");
  }, 30_000);
});
