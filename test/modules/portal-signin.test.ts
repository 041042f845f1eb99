import { describe, expect, test } from "bun:test";
import { listAudit } from "../../src/modules/audit/service";
import { ADMIN_TOKEN } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { browser, FROM_PORTAL, PASSWORD, portalApp, proxied, PUBLIC, valueOf } from "../helpers/portal";

const HOUR = 3_600_000;

describe("signing in", () => {
  test("the page: a form with the target as a hidden field, a strict policy, nothing loaded from elsewhere, sized for a phone", async () => {
    const app = await portalApp();
    const res = await app.fetch("/signin?rd=https%3A%2F%2Fwiki.home.lan%2Fpage%3Fid%3D7%26x%3D%22");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; img-src 'self'; form-action 'self' http:\/\/home\.lan:\* https:\/\/home\.lan:\* http:\/\/\*\.home\.lan:\* https:\/\/\*\.home\.lan:\*; base-uri 'none'; frame-ancestors 'none'$/,
    );
    const page = await res.text();
    expect(page).toContain('<form method="post" action="/signin">');
    expect(page).toContain('<input type="hidden" name="rd" value="https://wiki.home.lan/page?id=7&amp;x=%22">');
    expect(page).toContain('name="viewport" content="width=device-width, initial-scale=1"');
    // Under the no-referrer every answer has, a browser's form POST says `Origin: null` (refused).
    expect(page).toContain('<meta name="referrer" content="same-origin">');
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page).not.toContain("<script");
  });

  test("a target outside the cookie domain is not even carried in the form", async () => {
    const page = await (await (await portalApp()).fetch("/signin?rd=https%3A%2F%2Fevil.example%2F")).text();
    expect(page).not.toContain("evil.example");
    expect(page).not.toContain('name="rd"');
  });

  test("success: 303 to the target and a session cookie with exactly these attributes, its value stored only as a hash", async () => {
    const app = await portalApp();
    const res = await app.signIn({ username: "Alice", password: PASSWORD, rd: "https://wiki.home.lan/page?id=7" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("https://wiki.home.lan/page?id=7");
    const value = valueOf(res)!;
    const console = valueOf(res, "__Host-keyward_console")!;
    // The console cookie is host-only and Strict: no host of the domain but Keyward's receives it.
    expect(res.headers.getSetCookie()).toEqual([
      `keyward_session=${value}; Max-Age=604800; Domain=home.lan; Path=/; HttpOnly; SameSite=Lax; Secure`,
      `__Host-keyward_console=${console}; Max-Age=604800; Path=/; HttpOnly; SameSite=Strict; Secure`,
    ]);
    const [row] = await app.rows();
    const hash = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");
    expect(row).toMatchObject({ user: "alice", ip: "127.0.0.1", endedAt: null, hash: hash(value), consoleHash: hash(console) });
    expect(console).not.toBe(value);
    expect(row!.id).toMatch(/^ses_[0-9A-Za-z]{16}$/);
  });

  test("over http and without a cookie domain: no Secure, no Domain (the public URL's host only), Max-Age the absolute lifetime", async () => {
    const app = await portalApp({ KEYWARD_PUBLIC_URL: "http://keyward.lan:8000", KEYWARD_COOKIE_DOMAIN: "", KEYWARD_SESSION_MAX: "1d" });
    const res = await app.signIn({ username: "alice", password: PASSWORD, rd: "http://keyward.lan:8000/admin" }, { origin: "http://keyward.lan:8000" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("http://keyward.lan:8000/admin");
    expect(res.headers.getSetCookie()).toEqual([
      `keyward_session=${valueOf(res)}; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax`,
      `keyward_console=${valueOf(res, "keyward_console")}; Max-Age=86400; Path=/; HttpOnly; SameSite=Strict`,
    ]);
  });

  test("a wrong password, or a name nobody has, shows the page again (401) with the same words and no cookie", async () => {
    const app = await portalApp();
    const wrong = await app.signIn({ username: "alice", password: "not the password", rd: "https://wiki.home.lan/" });
    const nobody = await app.signIn({ username: "mallory", password: "not the password", rd: "https://wiki.home.lan/" });
    for (const res of [wrong, nobody]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(res.headers.get("content-security-policy")).toStartWith("default-src 'none'");
    }
    const page = await wrong.text();
    expect(page).toContain("The user name or password is not right.");
    expect(page).toContain('<input type="hidden" name="rd" value="https://wiki.home.lan/">');
    expect(await nobody.text()).toBe(page);
    expect(await app.rows()).toHaveLength(0);
  });

  test("failed sign-ins count towards the lockout, as logins do: past the limit 429 with Retry-After, even for the right password", async () => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "3" });
    for (let i = 0; i < 3; i++) expect((await app.signIn({ username: "alice", password: `wrong ${i}` })).status).toBe(401);
    const locked = await app.signIn({ username: "alice", password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await locked.text()).toContain("Too many failed attempts");
    await app.flush();
    // Read from the database: the admin's environment token is refused from a locked-out address.
    expect((await listAudit(app.store.db, { action: "login.failed" })).items).toEqual([expect.objectContaining({ user: "alice", count: 3 })]);
  });

  test("lab mode hands out no session: a name without a password is a failed sign-in", async () => {
    const app = await portalApp({ KEYWARD_OPEN_LOGIN: "true" });
    expect((await app.signIn({ username: "student1" })).status).toBe(401);
    expect(await app.rows()).toHaveLength(0);
  });

  test.each([
    ["no Origin", {}],
    ["another site's Origin", { origin: "https://evil.example" }],
    ["a sibling host's Origin", { origin: "https://wiki.home.lan" }],
    ["the public host over the other scheme", { origin: "http://auth.home.lan" }],
    ["Origin null (a sandboxed or privacy-stripped form)", { origin: "null" }],
  ])("a sign-in with %s is refused (403) before any password check", async (_, headers) => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "1" });
    const res = await app.signIn({ username: "alice", password: PASSWORD }, headers);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: expect.any(String), code: "cross_site_request", detail: expect.any(String) });
    expect(await app.rows()).toHaveLength(0);
  });
});

describe("no open redirect", () => {
  test.each([
    "https://evil.example/",
    "//evil.example",
    "//evil.example/page",
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)//https://wiki.home.lan/",
    "https://home.lan.evil.example/",
    "https://evilhome.lan/",
    "https://wiki.home.lan@evil.example/",
    "https://user:pw@wiki.home.lan/",
    "data:text/html,<script>alert(1)</script>",
    "ftp://wiki.home.lan/",
    "/relative/path",
    "wiki.home.lan",
    "",
  ])("rd=%p lands on the portal's own page", async (rd) => {
    const app = await portalApp();
    const res = await app.signIn({ username: "alice", password: PASSWORD, rd });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${PUBLIC}/signin`);
  });

  test.each([
    ["https://wiki.home.lan/page?id=7", "https://wiki.home.lan/page?id=7"],
    ["https://nas.home.lan:5000/", "https://nas.home.lan:5000/"],
    ["https://home.lan/", "https://home.lan/"],
    ["https://WIKI.Home.Lan/x", "https://wiki.home.lan/x"],
    ["https://wiki.home.lan\\@evil.example/", "https://wiki.home.lan/@evil.example/"],
  ])("rd=%p, inside the cookie domain, is followed as %p", async (rd, location) => {
    const res = await (await portalApp()).signIn({ username: "alice", password: PASSWORD, rd });
    expect(res.headers.get("location")).toBe(location);
  });

  test("an http page, which an https portal's Secure cookie never reaches, is not followed (it would send the browser back to sign in, round and round); an http portal follows it", async () => {
    const https = await portalApp();
    expect((await https.signIn({ username: "alice", password: PASSWORD, rd: "http://nas.home.lan:5000/" })).headers.get("location")).toBe(`${PUBLIC}/signin`);
    const http = await portalApp({ KEYWARD_PUBLIC_URL: "http://auth.home.lan" });
    const res = await http.signIn({ username: "alice", password: PASSWORD, rd: "http://nas.home.lan:5000/" }, { origin: "http://auth.home.lan" });
    expect(res.headers.get("location")).toBe("http://nas.home.lan:5000/");
  });

  test("without a cookie domain, only the public URL's own host is followed", async () => {
    const app = await portalApp({ KEYWARD_PUBLIC_URL: "https://auth.home.lan", KEYWARD_COOKIE_DOMAIN: "" });
    const to = async (rd: string) => (await app.signIn({ username: "alice", password: PASSWORD, rd })).headers.get("location");
    expect(await to("https://auth.home.lan/admin")).toBe("https://auth.home.lan/admin");
    expect(await to("https://wiki.home.lan/")).toBe(`${PUBLIC}/signin`);
  });
});


describe("browsers are sent to sign in; scripts get 401", () => {
  test("a browser with no credential: 302 to the sign-in page, the original URL rebuilt from the proxy's headers", async () => {
    const app = await portalApp();
    const res = await app.fetch("/auth/forward", { headers: proxied });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${PUBLIC}/signin?rd=${encodeURIComponent("https://wiki.home.lan/page?id=7")}`);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(await res.json()).toEqual({ error: expect.any(String), code: "sign_in_required", detail: expect.any(String) });
  });

  test("an expired session and a bad token alike: a browser is sent to sign in", async () => {
    const app = await portalApp();
    const value = await app.session();
    app.clock.advance(13 * HOUR);
    expect((await app.forward(value, proxied)).status).toBe(302);
    expect((await app.fetch("/auth/forward", { headers: { ...proxied, authorization: "Bearer kw_nope" } })).status).toBe(302);
  });

  test.each([
    ["missing headers", { "x-forwarded-proto": "", "x-forwarded-host": "", "x-forwarded-uri": "" }],
    ["a scheme that is not http(s)", { "x-forwarded-proto": "javascript" }],
    ["a host with a space", { "x-forwarded-host": "wiki.home.lan evil" }],
    ["a host with a path", { "x-forwarded-host": "evil.example/x" }],
    ["a protocol-relative URI", { "x-forwarded-uri": "//evil.example/" }],
    ["a URI that is not a path", { "x-forwarded-uri": "page" }],
  ])("with %s, the browser goes to the sign-in page without rd", async (_, headers) => {
    const app = await portalApp();
    const res = await app.fetch("/auth/forward", { headers: { ...proxied, ...headers } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${PUBLIC}/signin`);
  });

  test("a script (no text/html in Accept) gets 401 with the challenge, as before", async () => {
    const app = await portalApp();
    const res = await app.fetch("/auth/forward", { headers: { ...proxied, accept: "application/json" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(res.headers.get("location")).toBeNull();
  });

  test("nginx's auth_request (X-Original-URL, as the README's snippet sends) gets 401, which it can pass on, never a 302 it would turn into a 500", async () => {
    const app = await portalApp();
    const res = await app.fetch("/auth/forward", { headers: { ...browser, "x-original-url": "https://wiki.home.lan/page" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("location")).toBeNull();
  });

  test("a locked-out browser is sent to sign in too, never given a 429", async () => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "1" });
    await app.forward("x".repeat(43));
    const res = await app.fetch("/auth/forward", { headers: { ...proxied, cookie: "keyward_session=short" } });
    expect(res.status).toBe(302);
  });
});

describe("the sign-in page for a browser that has a session", () => {
  test("without the session's domain cookie (dropped, or refused by the browser) it offers to sign in again: Continue would only come back", async () => {
    const app = await portalApp();
    const { console } = await app.signedIn();
    const other = await app.signedIn();
    for (const cookie of [`__Host-keyward_console=${console}`, `keyward_session=${other.domain}; __Host-keyward_console=${console}`]) {
      const res = await app.fetch("/signin?rd=https%3A%2F%2Fwiki.home.lan%2F", { headers: { cookie } });
      expect(await res.text()).toContain('<form method="post" action="/signin">');
      // The odd pair is dropped, so the sign-in to come sets both afresh.
      expect(res.headers.getSetCookie().map((cookie) => cookie.split(";")[0])).toEqual(["keyward_session=", "__Host-keyward_console="]);
    }
  });


  test("says who is signed in (by the console cookie, the page being Keyward's own), links the target and offers sign-out", async () => {
    const app = await portalApp();
    const { domain, console } = await app.signedIn();
    const page = await (await app.fetch("/signin?rd=https%3A%2F%2Fwiki.home.lan%2F", { headers: { cookie: `keyward_session=${domain}; __Host-keyward_console=${console}` } })).text();
    expect(page).toContain("You are signed in as <strong>alice</strong>");
    expect(page).toContain('<a href="https://wiki.home.lan/">');
    expect(page).toContain('<form method="post" action="/signout">');
  });

  test("an ended session's cookie gets the sign-in form and is cleared", async () => {
    const app = await portalApp();
    const { domain, console } = await app.signedIn();
    await app.signOut(domain);
    const res = await app.fetch("/signin", { headers: { cookie: `__Host-keyward_console=${console}` } });
    expect(await res.text()).toContain('action="/signin"');
    expect(res.headers.getSetCookie().map((cookie) => cookie.split(";")[0])).toEqual(["keyward_session=", "__Host-keyward_console="]);
  });
});

describe("with no KEYWARD_PUBLIC_URL the portal is off", () => {
  test.each([
    ["GET", "/signin"],
    ["POST", "/signin"],
    ["POST", "/signout"],
    ["POST", "/account/password"],
  ])("%s %s is a 404 in the error shape", async (method, path) => {
    const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const res = await app.fetch(path, { method, headers: FROM_PORTAL });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: `No route for ${method} ${path}`, code: "not_found", detail: `No route for ${method} ${path}` });
  });

  test("forward auth is as before: a browser without a token gets 401, and a session cookie opens nothing", async () => {
    const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const res = await app.fetch("/auth/forward", { headers: { ...proxied, cookie: `keyward_session=${"A".repeat(43)}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keyward"');
    expect(res.headers.get("location")).toBeNull();
  });
});

