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
  let app: Awaited<ReturnType<typeof inProcessApp>>;
  const posts: (string | null)[] = [];

  beforeAll(async () => {
    app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "keyward.test" });
    await addAccount(app, "alice", PASSWORD);
    await addAccount(app, "root", PASSWORD, "admin");
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

  const signIn = async (page: import("playwright-core").Page, user: string, rd: string) => {
    await page.goto(`${PUBLIC}/signin?rd=${encodeURIComponent(rd)}`);
    await page.fill("#username", user);
    await page.fill("#password", PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click("button")]);
  };

  test("the admin page uses the same sign-in: an admin signed in at the portal gets the dashboard with no token, and its sign-out ends the session", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${PUBLIC}/admin`);
    await page.click("text=Sign in with your Keyward account");
    await page.waitForSelector("#username");
    expect(new URL(page.url()).searchParams.get("rd")).toBe(`${PUBLIC}/admin`);
    await page.fill("#username", "root");
    await page.fill("#password", PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click("button")]);
    expect(page.url()).toBe(`${PUBLIC}/admin`);
    await page.waitForSelector("h2:text('Overview')");
    await page.click("nav >> text=Users");
    await page.waitForSelector("td:text('alice')");
    // No token anywhere in the page: the cookie, which script cannot read, is the only credential.
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    const console = (await context.cookies()).find((cookie) => cookie.name === "keyward_console")!;
    expect(console).toMatchObject({ domain: "auth.keyward.test", httpOnly: true, sameSite: "Strict" });

    // Its sign-out is a fetch POST, accepted only because it carries the portal's Origin.
    await page.click("text=Sign out");
    await page.waitForSelector("text=Sign in with your Keyward account");
    const me = await app.fetch("/api/v1/me", { headers: { cookie: `keyward_console=${console.value}` } });
    expect(me.status).toBe(401);
    await context.close();
  }, 30_000);

  test("a person who is not an admin, signed in at the portal, is told so on the admin page and offered its sign-in", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "alice", `${PUBLIC}/admin`);
    await page.waitForSelector("text=alice is signed in, but is not an admin.");
    expect(await page.locator("nav").count()).toBe(0);
    await context.close();
  }, 30_000);

  test("a person changes their password from the portal page and stays signed in there", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await addAccount(app, "carol", PASSWORD);
    await page.goto(`${PUBLIC}/signin`);
    await page.fill("#username", "carol");
    await page.fill("#password", PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click("button")]);
    await page.fill("#current_password", PASSWORD);
    await page.fill("#new_password", "a new one for carol");
    await page.fill("#confirm_password", "a new one for carol");
    await Promise.all([page.waitForNavigation(), page.click("text=Change password")]);
    expect(page.url()).toBe(`${PUBLIC}/signin?notice=password`);
    await page.waitForSelector("text=Your password was changed.");
    expect(await page.textContent("h1")).toBe("Signed in");
    await context.close();
  }, 30_000);
});
