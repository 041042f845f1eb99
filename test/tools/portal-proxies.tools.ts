import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ADMIN_TOKEN, addAccount, client } from "../helpers/api";
import { tempDir } from "../helpers/binary";
import { hasChromium, launchChromium } from "../helpers/browser";
import { proxyAvailable, startPortalProxy, TEST_DOMAIN, type ProxyName, type RunningProxy } from "../helpers/proxies";
import { freePort, startKeyward, type RunningServer } from "../helpers/server";

setDefaultTimeout(30_000);

const PASSWORD = "correct horse battery";
// docs/signin.png is refreshed with KEYWARD_SCREENSHOTS_DIR=docs, as the admin page's screenshots are.
const screenshots = process.env.KEYWARD_SCREENSHOTS_DIR ? resolve(process.env.KEYWARD_SCREENSHOTS_DIR) : tempDir("keyward-screenshots-");
/** The site a hostile page is served from. */
const EVIL = "evil.test";
/** The test's names lead to loopback and every other name is not found: nothing leaves the machine. */
const RESOLVER = `--host-resolver-rules=MAP *.${TEST_DOMAIN} 127.0.0.1, MAP ${EVIL} 127.0.0.1, MAP * ~NOTFOUND`;
const IDENTITY = ["remote-user", "remote-groups", "x-keyward-token-id", "remote_user"];

let browser: Browser;
/** The service behind each proxy: it greets whoever the proxy says it is, and notes what it was told. */
let upstream: ReturnType<typeof Bun.serve>;
const seen: Record<string, string | null>[] = [];
/** Another site, whose page posts a form to the URL in its `?to=` as soon as it loads. */
let evil: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      seen.push(Object.fromEntries(IDENTITY.map((name) => [name, request.headers.get(name)])));
      const user = Bun.escapeHTML(request.headers.get("remote-user") ?? "nobody");
      return new Response(`<!doctype html><title>App</title><p id="hello">Hello ${user}</p>`, { headers: { "content-type": "text/html" } });
    },
  });
  evil = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const params = new URL(request.url).searchParams;
      const fields = Object.entries({ username: "alice", password: PASSWORD, rd: params.get("rd") ?? "" })
        .map(([name, value]) => `<input name="${name}" value="${Bun.escapeHTML(value)}">`)
        .join("");
      const form = `<form method="post" action="${Bun.escapeHTML(params.get("to") ?? "")}">${fields}</form><script>document.forms[0].submit()</script>`;
      return new Response(`<!doctype html><title>Win a prize</title>${form}`, { headers: { "content-type": "text/html" } });
    },
  });
  if (hasChromium) browser = await launchChromium([RESOLVER]);
});

afterAll(async () => {
  await browser?.close();
  upstream?.stop(true);
  evil?.stop(true);
});

/** One proxy's setup: where its two hosts are, and the Keyward behind it. */
interface Site {
  port: number;
  /** Keyward's public URL: the sign-in page's origin. */
  auth: string;
  app(path: string): string;
  keyward: RunningServer;
  proxy: RunningProxy;
  /** Keyward's API as the admin, for a scenario that changes something behind the browser's back. */
  api(): ReturnType<typeof client>;
}

/**
 * Keyward (the compiled binary, its public URL on the proxy) with alice's account, and the proxy
 * running the README's whole portal setup on one port for `app.keyward.test` and `auth.keyward.test`.
 */
function portalSite(name: ProxyName, available: boolean): Site {
  const port = freePort();
  const site = {
    port,
    auth: `http://auth.${TEST_DOMAIN}:${port}`,
    app: (path: string) => `http://app.${TEST_DOMAIN}:${port}${path}`,
    api: () => client(site.keyward, ADMIN_TOKEN),
  } as Site;
  beforeAll(async () => {
    if (!available) return;
    site.keyward = await startKeyward({
      env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: site.auth, KEYWARD_COOKIE_DOMAIN: TEST_DOMAIN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1" },
    });
    await addAccount(site.keyward, "alice", PASSWORD, "analyst");
    site.proxy = await startPortalProxy(name, { keyward: new URL(site.keyward.url).host, upstream: `127.0.0.1:${upstream.port}`, port });
  });
  afterAll(async () => {
    site.proxy?.stop();
    await site.keyward?.stop();
  });
  return site;
}

/**
 * One page for every scenario (opening one costs half a second on a busy box), starting each with
 * no cookie and no request rewritten: nothing crosses from one scenario to the next.
 */
let context: BrowserContext;
let page: Page;
beforeAll(async () => {
  if (!hasChromium) return;
  context = await browser.newContext({ viewport: { width: 390, height: 640 } });
  page = await context.newPage();
});
beforeEach(async () => {
  await context?.clearCookies();
  await page?.unrouteAll();
});

/** Fills the sign-in form the page shows and sends it; the answer the browser ended on. */
async function signIn(username = "alice", password = PASSWORD) {
  await page.fill("#username", username);
  await page.fill("#password", password);
  const [answer] = await Promise.all([page.waitForNavigation(), page.click("button")]);
  return answer!;
}

const sessionCookie = async () => (await context.cookies()).find((cookie) => cookie.name === "keyward_session");
/** Where the browser is, as the sign-in page's address and the `rd` its form carries. */
async function onSignIn() {
  const field = await page.$('input[name="rd"]');
  return { at: page.url().split("?")[0], rd: field === null ? null : await field.getAttribute("value") };
}

/** The README's portal setup for each proxy, run as written, with a person in a real browser; one scenario per test. */
describe.each(["nginx", "caddy"] as ProxyName[])("signing in through %s, set up as the README says", (name) => {
  const available = hasChromium && proxyAvailable(name);
  const site = portalSite(name, available);

  describe.skipIf(!available)(`${name}, Keyward and Chromium`, () => {
    test("a person opens a page, is sent to sign in, lands on it with their name shown (never a forged one); signs out and is sent to sign in again", async () => {
      const target = site.app("/some/page?x=1&y=a%20b");
      await page.goto(target);
      expect(await onSignIn()).toEqual({ at: `${site.auth}/signin`, rd: target });
      expect(await page.textContent("h1")).toBe("Sign in");
      // Sized for a phone: nothing wider than its 390 px.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBe(390);
      await page.screenshot({ path: join(screenshots, "signin.png"), clip: { x: 0, y: 0, width: 390, height: 420 } });

      const landed = await signIn();
      expect(landed.status()).toBe(200);
      expect(page.url()).toBe(target);
      expect(await page.textContent("#hello")).toBe("Hello alice");
      expect(seen.at(-1)).toMatchObject({ "remote-user": "alice", "remote-groups": "analyst", "x-keyward-token-id": expect.stringMatching(/^ses_/) });
      const cookie = await sessionCookie();
      expect(cookie).toMatchObject({ domain: `.${TEST_DOMAIN}`, httpOnly: true, sameSite: "Lax" });

      // Identity headers the browser forges never reach the service: it sees Keyward's.
      const forged = await fetch(`${site.proxy.url}/`, {
        headers: { host: `app.${TEST_DOMAIN}:${site.port}`, cookie: `keyward_session=${cookie!.value}`, "remote-user": "admin", remote_user: "admin", "x-keyward-token-id": "tok_forged" },
      });
      expect(await forged.text()).toContain("Hello alice");
      expect(seen.at(-1)).toEqual({ "remote-user": "alice", "remote-groups": "analyst", "x-keyward-token-id": expect.stringMatching(/^ses_/), remote_user: null });

      await page.goto(`${site.auth}/signin`);
      expect(await page.textContent("h1")).toBe("Signed in");
      await Promise.all([page.waitForNavigation(), page.click("button")]);
      expect(page.url()).toBe(`${site.auth}/signin`);
      expect(await page.textContent("h1")).toBe("Sign in");
      expect(await sessionCookie()).toBeUndefined();

      await page.goto(target);
      expect(await onSignIn()).toEqual({ at: `${site.auth}/signin`, rd: target });
    });

    test("an admin ends the session (DELETE /api/v1/sessions/{id}): the person's next request is sent to sign in", async () => {
      const target = site.app("/after/end");
      await page.goto(target);
      await signIn();
      expect(await page.textContent("#hello")).toBe("Hello alice");
      const id = seen.at(-1)!["x-keyward-token-id"]!;
      const listed = await site.api().get<{ id: string; user: string }[]>("/api/v1/sessions?user=alice");
      expect(listed.body.map((session) => session.id)).toContain(id);

      expect((await site.api().delete(`/api/v1/sessions/${id}`)).status).toBe(204);
      await page.goto(target);
      expect(await onSignIn()).toEqual({ at: `${site.auth}/signin`, rd: target });
    });

    test("a script (no text/html in Accept) gets 401 and the service is never reached; a browser's request gets 302 to sign in", async () => {
      const before = seen.length;
      const ask = (accept: string) => fetch(`${site.proxy.url}/some/page?x=1`, { redirect: "manual", headers: { host: `app.${TEST_DOMAIN}:${site.port}`, accept } });
      for (const accept of ["*/*", "application/json"]) {
        const res = await ask(accept);
        expect({ accept, status: res.status, location: res.headers.get("location") }).toEqual({ accept, status: 401, location: null });
      }
      const browsing = await ask("text/html,application/xhtml+xml");
      expect(browsing.status).toBe(302);
      expect(browsing.headers.get("location")).toStartWith(`${site.auth}/signin?rd=`);
      expect(seen.length).toBe(before);
    });

    test.each(["https://evil.example/", "//evil.example", `http://${TEST_DOMAIN}.evil.example/`])(
      "a sign-in meant to send the browser to %s, in the link and in the form, lands on the sign-in page instead",
      async (rd) => {
        // Percent-encoded, as /auth/forward sends it, and as it is, as nginx sends it.
        for (const link of [`${site.auth}/signin?rd=${encodeURIComponent(rd)}`, `${site.auth}/signin?rd=${rd}`]) {
          await page.goto(link);
          expect({ link, rd: (await onSignIn()).rd }).toEqual({ link, rd: null });
        }
        // As a tampered form would send it: the server, not the page, must refuse it.
        await page.route(`${site.auth}/signin`, (route) =>
          route.request().method() === "POST" ? route.continue({ postData: `${route.request().postData()}&rd=${encodeURIComponent(rd)}` }) : route.continue(),
        );
        const answer = await signIn();
        expect(answer.request().redirectedFrom()?.postData()).toEndWith(`&rd=${encodeURIComponent(rd)}`);
        expect(page.url()).toBe(`${site.auth}/signin`);
        expect(await page.textContent("h1")).toBe("Signed in");
      },
    );

    test("a sign-in form posted from another site is refused (403) and sets no cookie", async () => {
      const refused = page.waitForResponse((res) => res.url() === `${site.auth}/signin` && res.request().method() === "POST");
      await page.goto(`http://${EVIL}:${evil.port}/?to=${encodeURIComponent(`${site.auth}/signin`)}&rd=${encodeURIComponent(site.app("/"))}`);
      const res = await refused;
      expect(res.status()).toBe(403);
      expect(res.request().headers()["origin"]).toBe(`http://${EVIL}:${evil.port}`);
      expect(await res.json()).toMatchObject({ code: "cross_site_request" });
      expect(await sessionCookie()).toBeUndefined();
      await page.goto(site.app("/"));
      expect((await onSignIn()).at).toBe(`${site.auth}/signin`);
    });

    test("an X-Forwarded-For the client forges is replaced by the proxy's: failures count against the client's real address", async () => {
      const forged = { "x-forwarded-for": "203.0.113.9" };
      const wrong = await fetch(`${site.proxy.url}/signin`, {
        method: "POST",
        headers: { host: `auth.${TEST_DOMAIN}:${site.port}`, origin: site.auth, "content-type": "application/x-www-form-urlencoded", ...forged },
        body: new URLSearchParams({ username: "alice", password: "not the password" }).toString(),
      });
      expect(wrong.status).toBe(401);
      const guessed = await fetch(`${site.proxy.url}/`, { headers: { host: `app.${TEST_DOMAIN}:${site.port}`, cookie: `keyward_session=${"A".repeat(43)}`, ...forged } });
      expect(guessed.status).toBe(401);
      for (const action of ["login.failed", "auth.failed"]) {
        const audit = await site.api().get(`/api/v1/audit?action=${action}&limit=1`);
        expect({ action, ip: audit.body[0]?.ip }).toEqual({ action, ip: "127.0.0.1" });
      }
    });
  });
});
