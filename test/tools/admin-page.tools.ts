import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ADMIN_TOKEN, client, formPost } from "../helpers/api";
import { hasChromium, launchChromium } from "../helpers/browser";
import { tempDir } from "../helpers/binary";
import { startKeyward, type RunningServer } from "../helpers/server";

// A real browser is slower than a fetch: give each step room.
setDefaultTimeout(30_000);

// The screenshots in docs/ are refreshed with KEYWARD_SCREENSHOTS_DIR=docs npm test; otherwise
// they go to a temporary directory, so a test run leaves the working tree as it was.
const docs = process.env.KEYWARD_SCREENSHOTS_DIR ? resolve(process.env.KEYWARD_SCREENSHOTS_DIR) : tempDir("keyward-screenshots-");
const XSS_NAME = "<img src=x onerror=alert(1)>";
// The sign-in portal is on, so the Sessions tab has sessions to show; its pages are reached by fetch, never by name.
const PUBLIC = "http://auth.keyward.test";

/** Signs a user in through the portal as their browser would; the session cookie's value. */
async function signIn(target: RunningServer, username: string): Promise<string> {
  const res = await target.fetch("/signin", { ...formPost({ username, password: "correct horse battery" }, { origin: PUBLIC }), redirect: "manual" });
  expect(res.status).toBe(303);
  return /^keyward_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")![1]!;
}

let server: RunningServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const alerts: string[] = [];
const blocked: string[] = [];

beforeAll(async () => {
  server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC } });
  await client(server).post("/api/v1/users", { username: "carol", password: "correct horse battery", role: "viewer" });
  await client(server).post("/api/v1/tokens/main", { hardware_fingerprint: "cpu:BFEBFBFF000906EA;disk:S4EVNX0N123456" });
  if (!hasChromium) return;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  page = await context.newPage();
  page.on("dialog", (dialog) => {
    if (dialog.type() === "alert") alerts.push(dialog.message());
    void dialog.accept();
  });
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) blocked.push(message.text());
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe.skipIf(!hasChromium)("the admin page in a real browser", () => {
  test("it is served with a strict policy and no inline script", async () => {
    const res = await server.fetch("/admin");
    const policy = res.headers.get("content-security-policy")!;
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<style>|\son\w+=/);
    // Nothing loaded from elsewhere (the portal's sign-in address is a link the script makes, not a resource).
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  test("signing in with a wrong token is refused; with the admin token it opens the overview", async () => {
    await page.goto(`${server.url}/admin`);
    await page.screenshot({ path: join(docs, "admin-sign-in.png") });
    await page.fill("input[name=token]", "kw_not_a_real_token");
    await page.click("button:text-is('Sign in')");
    await page.waitForSelector("text=That token does not work.");
    await page.fill("input[name=token]", ADMIN_TOKEN);
    await page.click("button:text-is('Sign in')");
    await page.waitForSelector("h2:text('Overview')");
    await page.click("nav >> text=Tokens");
    await page.waitForSelector("h2:text('Tokens')");
    expect(page.url()).toBe(`${server.url}/admin`);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  test("creating a token shows it once, with a warning and a copy button that copies it", async () => {
    await page.fill("form >> input[aria-label=User]", "alice");
    await page.fill("form >> input[aria-label=Name]", XSS_NAME);
    await page.fill("form >> input[aria-label=Role]", "analyst");
    await page.fill("form >> input[aria-label=Scopes]", " nas  backup:read ");
    await page.click("text=Create token");
    const shown = (await page.textContent("[data-testid=new-token]"))!;
    expect(shown).toMatch(/^kw_[0-9A-Za-z]{49}$/);
    expect(await page.textContent(".secret")).toContain("it will not be shown again");
    await page.click(".secret >> button:text-is('Copy')");
    await page.waitForSelector("[data-testid=copied]:text('Copied')");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown);
    expect((await client(server, shown).get("/api/v1/me")).body).toMatchObject({ user: "alice", role: "analyst", scopes: ["nas", "backup:read"] });
    expect(page.url()).not.toContain(shown);
    await page.screenshot({ path: join(docs, "admin-tokens.png"), fullPage: true });
  });

  test("a token name that is HTML shows as text and runs nothing", async () => {
    const cell = page.locator("td", { hasText: XSS_NAME });
    await expect(cell.count()).resolves.toBe(1);
    expect(await page.locator("td img").count()).toBe(0);
    expect(alerts).toEqual([]);
    expect(blocked).toEqual([]);
  });

  test("revoking after the confirmation refuses the token at once", async () => {
    const token = (await page.textContent("[data-testid=new-token]"))!;
    const row = page.locator("tr", { hasText: XSS_NAME });
    await row.locator("text=Revoke").click();
    await page.locator("tr", { hasText: XSS_NAME }).locator(".status.revoked").waitFor();
    expect((await client(server, token).get("/data")).status).toBe(401);
  });

  test("limits typed in the form reach the API, and show under the token's name", async () => {
    await page.fill("form >> input[aria-label=User]", "metered");
    await page.fill("form >> input[aria-label='Rate limit']", "100/1m");
    await page.fill("form >> input[aria-label=Uses]", "5");
    await page.fill("form >> input[aria-label=Refill]", "5/1d");
    await page.click("text=Create token");
    await page.waitForSelector("[data-testid=limits]:text('100/1m, 5 left (5/1d)')");
    const token = (await page.textContent("[data-testid=new-token]"))!;
    expect((await client(server, token).get("/data")).status).toBe(200);
  });

  test("the API docs page renders the spec in the browser, with nothing refused by its policy", async () => {
    const docsPage = await context.newPage();
    const refused: string[] = [];
    docsPage.on("console", (message) => {
      if (/Content Security Policy|Refused to/.test(message.text())) refused.push(message.text());
    });
    await docsPage.goto(`${server.url}/swagger`);
    await docsPage.waitForSelector(".swagger-ui .info .title:has-text('Keyward')");
    await docsPage.waitForSelector(".opblock-summary-path:has-text('/api/v1/tokens')");
    expect(refused).toEqual([]);
    await docsPage.screenshot({ path: join(docs, "api-docs.png") });
    await docsPage.close();
  });

  test("the users, devices and audit pages list what exists", async () => {
    await page.click("nav >> text=Users");
    await page.waitForSelector("td:text('carol')");
    await page.screenshot({ path: join(docs, "admin-users.png"), fullPage: true });
    await page.click("nav >> text=Devices");
    await page.waitForSelector("td .status.active");
    await page.screenshot({ path: join(docs, "admin-devices.png"), fullPage: true });
    await page.click("nav >> text=Audit");
    await page.waitForSelector("td:text('token.revoked')");
    await page.screenshot({ path: join(docs, "admin-audit.png"), fullPage: true });
    expect(alerts).toEqual([]);
  });

  test("the sessions page lists a browser signed in through the portal; End, after the confirmation, signs it out at once", async () => {
    const cookie = await signIn(server, "carol");
    const forward = () => server.fetch("/auth/forward", { headers: { cookie: `keyward_session=${cookie}` } });
    expect((await forward()).status).toBe(200);
    await page.click("nav >> text=Sessions");
    const row = page.locator("tr", { hasText: "carol" });
    await row.waitFor();
    const id = (await row.locator("code.id").textContent())!;
    expect(id).toMatch(/^ses_[0-9A-Za-z]{16}$/);
    expect(await page.content()).not.toContain(cookie);
    await page.screenshot({ path: join(docs, "admin-sessions.png"), fullPage: true });
    await row.locator("button:text-is('End')").click();
    await page.waitForSelector("text=Nobody is signed in.");
    expect((await forward()).status).toBe(401);
    expect((await client(server).get("/api/v1/audit?action=session.ended")).body).toEqual([expect.objectContaining({ user: "carol", token_id: id, actor: "admin" })]);
    expect(alerts).toEqual([]);
  });

  test("a long list shows 50 rows and a More button that adds the next page, never asking for the whole table", async () => {
    for (let i = 0; i < 60; i++) await client(server).post("/api/v1/tokens", { user: "bulk", name: `bulk ${i}` });
    const total = (await client(server).get("/api/v1/tokens?limit=500")).body.length;
    expect(total).toBeGreaterThan(60);
    const listed: string[] = [];
    page.on("request", (request) => {
      if (/\/api\/v1\/(tokens|users|devices|audit)\?/.test(request.url()) && request.method() === "GET") listed.push(request.url());
    });
    await page.click("nav >> text=Tokens");
    await page.locator("tbody tr").nth(49).waitFor();
    expect(await page.locator("tbody tr").count()).toBe(50);
    expect(await page.locator("td", { hasText: "bulk 59" }).count()).toBe(1);
    await page.click("button:text-is('More')");
    await page.locator("tbody tr").nth(total - 1).waitFor();
    expect(await page.locator("tbody tr").count()).toBe(total);
    expect(await page.locator("td", { hasText: /^bulk 0$/ }).count()).toBe(1);
    expect(await page.locator("button:text-is('More')").count()).toBe(0);
    expect(listed).toHaveLength(2);
    for (const url of listed) expect(new URL(url).searchParams.get("limit")).toBe("50");
    expect(new URL(listed[1]!).searchParams.get("cursor")).not.toBeNull();
    expect(blocked).toEqual([]);
  });
});

describe.skipIf(!hasChromium)("the admin page at a phone's width and a desktop's, signed in, with several rows in every table", () => {
  const tabs = ["Tokens", "Users", "Sessions", "Devices", "Audit"] as const;
  let full: RunningServer;

  beforeAll(async () => {
    full = await startKeyward({
      env: {
        KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN,
        API_TOKENS: "analyst:9b34c5e6a7d8f1e2b3c4a5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6",
        KEYWARD_DEVICE_ENROLLMENT: "approval",
        KEYWARD_PUBLIC_URL: PUBLIC,
      },
    });
    const admin = client(full);
    for (const user of ["alice", "bob", "carol-with-a-rather-long-name@example.com"]) {
      await admin.post("/api/v1/users", { username: user, password: "correct horse battery", role: "viewer", scopes: ["wiki", "nas"] });
      await admin.post("/api/v1/tokens", { user, name: `${user}'s laptop`, role: "analyst", allowed_ips: ["192.168.1.0/24"], scopes: ["nas", "backup:read"] });
      await signIn(full, user);
    }
    for (const fingerprint of ["cpu:BFEBFBFF000906EA;disk:S4EVNX0N123456", "fp-kiosk", "fp-front-desk"]) {
      await client(full, "").post("/api/v1/tokens/main", { hardware_fingerprint: fingerprint });
    }
  });
  afterAll(() => full?.stop());

  test.each([390, 1280])("at %i px: no sideways page scroll, hints, ids, dates and statuses on one line, no band under the tabs, no console error", async (width) => {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("dialog", (dialog) => void dialog.dismiss());
    await page.goto(`${full.url}/admin`);
    await page.fill("input[name=token]", ADMIN_TOKEN);
    await page.click("button:text-is('Sign in')");
    for (const tab of tabs) {
      await page.click(`nav >> text=${tab}`);
      await page.locator("main tbody tr").nth(2).waitFor();
      const layout = await page.evaluate(() => {
        const nav = document.querySelector("nav")!.getBoundingClientRect();
        const first = document.querySelector("main")!.firstElementChild!.getBoundingClientRect();
        const box = document.querySelector(".table-box")!;
        return {
          pageWidth: document.documentElement.scrollWidth,
          viewport: window.innerWidth,
          bandUnderTabs: first.top - nav.bottom,
          wrapped: [...document.querySelectorAll("code.hint, code.id, time > span, .status")].filter((e) => e.getClientRects().length !== 1).map((e) => e.textContent),
          tableScrollsInItsBox: box.scrollWidth > box.clientWidth && getComputedStyle(box).overflowX === "auto",
        };
      });
      expect({ tab, page: layout.pageWidth <= layout.viewport, wrapped: layout.wrapped }).toEqual({ tab, page: true, wrapped: [] });
      expect(layout.bandUnderTabs).toBeLessThanOrEqual(20);
      // Every table is wider than a phone: it scrolls in its own box, the page does not. A desktop shows it whole.
      expect({ tab, scrolls: layout.tableScrollsInItsBox }).toEqual({ tab, scrolls: width === 390 });
      if (tab === "Devices") expect(await page.locator("tr", { has: page.locator(".status.pending") }).locator("button:text-is('Approve')").count()).toBe(3);
      if (tab === "Tokens") await page.screenshot({ path: join(docs, `admin-${width}.png`), fullPage: true });
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  test("the favicon is served from inside the binary and linked from the admin page and the home page", async () => {
    const icon = await full.fetch("/favicon.ico");
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(await icon.text()).toStartWith("<svg ");
    for (const path of ["/admin", "/"]) {
      const html = await (await full.fetch(path, { headers: { accept: "text/html" } })).text();
      expect(html).toContain('<link rel="icon" href="/favicon.ico" type="image/svg+xml">');
    }
  });
});
