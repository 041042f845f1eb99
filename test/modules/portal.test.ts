import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { sessions } from "../../src/db/schema";
import { ADMIN_TOKEN, addAccount, client, formPost } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { tempDir } from "../helpers/binary";
import { listAudit } from "../../src/modules/audit/service";

const PUBLIC = "https://auth.home.lan";
const FROM_PORTAL = { origin: PUBLIC };
const PASSWORD = "correct horse battery";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The in-process app with the portal on (https, cookie domain home.lan) and alice's account. */
async function portalApp(env: Record<string, string> = {}, options: { db?: string } = {}) {
  const app = inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "home.lan", ...env }, {}, options);
  await addAccount(app, "alice", PASSWORD);
  const signIn = (fields: Record<string, string>, headers: Record<string, string> = FROM_PORTAL) => app.fetch("/signin", formPost(fields, headers));
  /** Signs alice in; both cookies' values. */
  const signedIn = async () => {
    const res = await signIn({ username: "alice", password: PASSWORD });
    expect(res.status).toBe(303);
    return { domain: valueOf(res)!, console: valueOf(res, "__Host-keyward_console")! };
  };
  /** Signs alice in; the value of the cookie forward auth reads. */
  const session = async () => (await signedIn()).domain;
  const forward = (value: string, headers: Record<string, string> = {}) => app.fetch("/auth/forward", { headers: { cookie: `theme=dark; keyward_session=${value}`, ...headers } });
  const signOut = (value: string, headers: Record<string, string> = FROM_PORTAL) => app.fetch("/signout", { method: "POST", headers: { cookie: `keyward_session=${value}`, ...headers } });
  const rows = () => app.store.db.select().from(sessions).all();
  return { ...app, signIn, signedIn, session, forward, signOut, rows };
}

/** The value a response sets for a cookie (keyward_session unless named), or null. */
const valueOf = (res: Response, name = "keyward_session") =>
  res.headers
    .getSetCookie()
    .map((cookie) => new RegExp(`^${name}=([A-Za-z0-9_-]{43});`).exec(cookie)?.[1])
    .find(Boolean) ?? null;
const browser = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
const proxied = { ...browser, "x-forwarded-proto": "https", "x-forwarded-host": "wiki.home.lan", "x-forwarded-uri": "/page?id=7" };

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
    const [row] = app.rows();
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
    expect(app.rows()).toHaveLength(0);
  });

  test("failed sign-ins count towards the lockout, as logins do: past the limit 429 with Retry-After, even for the right password", async () => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "3" });
    for (let i = 0; i < 3; i++) expect((await app.signIn({ username: "alice", password: `wrong ${i}` })).status).toBe(401);
    const locked = await app.signIn({ username: "alice", password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await locked.text()).toContain("Too many failed attempts");
    app.flush();
    // Read from the database: the admin's environment token is refused from a locked-out address.
    expect(listAudit(app.store.db, { action: "login.failed" }).items).toEqual([expect.objectContaining({ user: "alice", count: 3 })]);
  });

  test("lab mode hands out no session: a name without a password is a failed sign-in", async () => {
    const app = await portalApp({ KEYWARD_OPEN_LOGIN: "true" });
    expect((await app.signIn({ username: "student1" })).status).toBe(401);
    expect(app.rows()).toHaveLength(0);
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
    expect(app.rows()).toHaveLength(0);
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

describe("a session at /auth/forward", () => {
  test("passes like a token: 200, Remote-User, Remote-Groups (the account's role), X-Keyward-Token-Id (the session id)", async () => {
    const app = await portalApp();
    const value = await app.session();
    const res = await app.forward(value, proxied);
    expect(res.status).toBe(200);
    const id = app.rows()[0]!.id;
    expect([res.headers.get("remote-user"), res.headers.get("remote-groups"), res.headers.get("x-keyward-token-id")]).toEqual(["alice", "user", id]);
    expect(await res.json()).toEqual({ user: "alice", role: "user", token_id: id });
  });

  test("a role the service asks for is checked as for a token: 403, not a redirect", async () => {
    const app = await portalApp();
    const value = await app.session();
    const res = await app.fetch("/auth/forward?role=admin", { headers: { cookie: `keyward_session=${value}`, ...proxied } });
    expect(res.status).toBe(403);
    expect(res.headers.get("location")).toBeNull();
  });

  test("a signed-in person refused for their role is audited but not counted: their address can still sign in", async () => {
    const app = await portalApp();
    const value = await app.session();
    for (let i = 0; i < 40; i++) {
      const res = await app.fetch("/auth/forward?role=admin", { headers: { cookie: `keyward_session=${value}`, ...proxied } });
      expect(res.status).toBe(403);
    }
    expect((await app.signIn({ username: "alice", password: PASSWORD })).status).toBe(303);
    app.flush();
    const audit = await client(app).get("/api/v1/audit?action=auth.failed");
    expect(audit.body).toEqual(expect.arrayContaining([expect.objectContaining({ user: "alice", detail: "session insufficient_role" })]));
  });

  test("a stale or odd session cookie before the live one does not hide it; sign-out ends every one presented", async () => {
    const app = await portalApp();
    const stale = await app.session();
    expect((await app.signOut(stale)).status).toBe(303);
    const live = await app.session();
    const presenting = (...values: string[]) => ({ ...proxied, cookie: values.map((value) => `keyward_session=${value}`).join("; ") });
    for (const cookie of [presenting(stale, live), presenting("", live), presenting("not-a-session-value", live)]) {
      const res = await app.fetch("/auth/forward", { headers: cookie });
      expect([res.status, res.headers.get("remote-user")]).toEqual([200, "alice"]);
    }
    const other = await app.session();
    const both = await app.fetch("/signout", { method: "POST", headers: { ...FROM_PORTAL, cookie: `keyward_session=${other}; keyward_session=${live}` } });
    expect(both.status).toBe(303);
    expect((await app.forward(other)).status).toBe(401);
    expect((await app.forward(live)).status).toBe(401);
  });

  test("a token, when one is presented, decides the request; the session cookie is not consulted", async () => {
    const app = await portalApp();
    const value = await app.session();
    const res = await app.forward(value, { authorization: "Bearer kw_not-a-real-token" });
    expect(res.status).toBe(401);
  });

  test("idle: unused for KEYWARD_SESSION_IDLE it ends; used within it, it lives until KEYWARD_SESSION_MAX", async () => {
    const app = await portalApp({ KEYWARD_SESSION_IDLE: "1h", KEYWARD_SESSION_MAX: "3h" });
    const kept = await app.session();
    const left = await app.session();
    for (let i = 0; i < 5; i++) {
      app.clock.advance(50 * MINUTE);
      expect((await app.forward(kept)).status).toBe(i < 3 ? 200 : 401);
    }
    expect((await app.forward(left)).status).toBe(401);
  });

  test("absolute: KEYWARD_SESSION_MAX after sign-in it ends, however recently used", async () => {
    const app = await portalApp();
    const value = await app.session();
    for (let at = 0; at < 7 * DAY - 6 * HOUR; at += 6 * HOUR) {
      app.clock.advance(6 * HOUR);
      expect((await app.forward(value)).status).toBe(200);
    }
    app.clock.advance(6 * HOUR);
    expect((await app.forward(value)).status).toBe(401);
  });

  test("its last use and address are written at most once a minute, after the fact", async () => {
    const app = await portalApp();
    const value = await app.session();
    const created = app.rows()[0]!.createdAt.getTime();
    const lastSeen = () => app.rows()[0]!.lastSeenAt.getTime() - created;
    app.clock.advance(30_000);
    await app.forward(value);
    app.flush();
    expect(lastSeen()).toBe(0);
    app.clock.advance(31_000);
    await app.forward(value);
    expect(lastSeen()).toBe(0);
    app.flush();
    expect(lastSeen()).toBeGreaterThanOrEqual(61_000);
    const written = lastSeen();
    app.clock.advance(20_000);
    await app.forward(value);
    app.flush();
    expect(lastSeen()).toBe(written);
  });

  test("sign-out ends it on the server and clears both cookies with the same attributes", async () => {
    const app = await portalApp();
    const value = await app.session();
    const res = await app.signOut(value);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${PUBLIC}/signin`);
    expect(res.headers.getSetCookie()).toEqual([
      "keyward_session=; Max-Age=0; Domain=home.lan; Path=/; HttpOnly; SameSite=Lax; Secure",
      "__Host-keyward_console=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure",
    ]);
    expect(app.rows()[0]!.endedAt).not.toBeNull();
    expect((await app.forward(value)).status).toBe(401);
  });

  test("sign-out from another site is refused (403) and the session goes on", async () => {
    const app = await portalApp();
    const value = await app.session();
    expect((await app.signOut(value, { origin: "https://evil.example" })).status).toBe(403);
    expect((await app.forward(value)).status).toBe(200);
  });

  const patchAlice = (app: { fetch: (path: string, init: RequestInit) => Promise<Response> }, change: object) =>
    app.fetch("/api/v1/users/alice", { method: "PATCH", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(change) });

  test.each([
    ["the password is changed", { password: "a brand new password" }],
    ["the role is changed", { role: "analyst" }],
  ])("it ends when %s", async (_, change) => {
    const app = await portalApp();
    const value = await app.session();
    expect((await app.forward(value)).status).toBe(200);
    expect((await patchAlice(app, change)).status).toBe(200);
    expect((await app.forward(value)).status).toBe(401);
    expect((await patchAlice(app, { role: "user" })).status).toBe(200);
    expect((await app.forward(value)).status).toBe(401);
  });

  test("a sign-in whose password check was under way when the password changed opens no session", async () => {
    const app = await portalApp();
    const verify = Bun.password.verify;
    const checking = Promise.withResolvers<void>();
    const proceed = Promise.withResolvers<void>();
    // The argon2id check of the old password takes its time; the password changes meanwhile.
    Bun.password.verify = async (...args: Parameters<typeof verify>) => {
      const matches = await verify(...args);
      checking.resolve();
      await proceed.promise;
      return matches;
    };
    try {
      const signingIn = app.signIn({ username: "alice", password: PASSWORD });
      await checking.promise;
      expect((await patchAlice(app, { password: "a brand new password" })).status).toBe(200);
      proceed.resolve();
      const res = await signingIn;
      expect(res.status).toBe(401);
      expect(valueOf(res)).toBeNull();
      expect(app.rows()).toEqual([]);
    } finally {
      Bun.password.verify = verify;
    }
  });

  test("it is refused while the account is disabled, as the account's tokens are", async () => {
    const app = await portalApp();
    const value = await app.session();
    expect((await patchAlice(app, { disabled: true })).status).toBe(200);
    expect((await app.forward(value)).status).toBe(401);
    expect((await patchAlice(app, { disabled: false })).status).toBe(200);
    expect((await app.forward(value)).status).toBe(200);
  });

  test("it ends when the account is removed, and a new account of that name does not inherit it", async () => {
    const app = await portalApp();
    const value = await app.session();
    expect((await client(app).delete("/api/v1/users/alice")).status).toBe(200);
    expect((await app.forward(value)).status).toBe(401);
    await addAccount(app, "alice", PASSWORD);
    expect((await app.forward(value)).status).toBe(401);
  });

  test("a session ended by another process (the CLI) is refused within a second", async () => {
    const dir = tempDir("keyward-portal-");
    const app = await portalApp({}, { db: join(dir, "keyward.db") });
    const value = await app.session();
    expect((await app.forward(value)).status).toBe(200);
    const { Database } = await import("bun:sqlite");
    const other = new Database(join(dir, "keyward.db"));
    other.run("UPDATE sessions SET ended_at = ?", [Date.now()]);
    other.close();
    app.clock.advance(1000);
    expect((await app.forward(value)).status).toBe(401);
  });
});

describe("failed cookies and the lockout", () => {
  test("a cookie no session ever had is audited but not counted: it cannot be guessed, and another host of the domain could plant it", async () => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "3" });
    for (const planted of ["A".repeat(43), "short", "B".repeat(43), "C".repeat(43)]) expect((await app.forward(planted)).status).toBe(401);
    expect((await app.signIn({ username: "alice", password: PASSWORD })).status).toBe(303);
    app.flush();
    const failed = listAudit(app.store.db, { action: "auth.failed" }).items;
    expect(failed.map(({ detail, count }) => [detail, count]).sort()).toEqual([
      ["session malformed", 1],
      ["session unknown", 3],
    ]);
  });

  test("an ended session's cookie, which the browser still holds, is refused without counting against its address", async () => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "3" });
    const value = await app.session();
    await app.signOut(value);
    for (let i = 0; i < 5; i++) expect((await app.forward(value, proxied)).status).toBe(302);
    expect((await app.signIn({ username: "alice", password: PASSWORD })).status).toBe(303);
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
    const app = inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const res = await app.fetch(path, { method, headers: FROM_PORTAL });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: `No route for ${method} ${path}`, code: "not_found", detail: `No route for ${method} ${path}` });
  });

  test("forward auth is as before: a browser without a token gets 401, and a session cookie opens nothing", async () => {
    const app = inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const res = await app.fetch("/auth/forward", { headers: { ...proxied, cookie: `keyward_session=${"A".repeat(43)}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keyward"');
    expect(res.headers.get("location")).toBeNull();
  });
});

describe("bounded", () => {
  test("sessions past their absolute lifetime (and an hour's grace for late requests) are pruned, ended or not", async () => {
    const app = await portalApp();
    const ended = await app.session();
    await app.signOut(ended);
    await app.session();
    app.flush();
    expect(app.rows()).toHaveLength(2);
    app.clock.advance(7 * DAY + 2 * HOUR);
    await app.session();
    app.flush();
    expect(app.rows().map((row) => row.endedAt)).toEqual([null]);
  });

  test("no cookie value is stored in the database file", async () => {
    const dir = tempDir("keyward-portal-");
    const file = join(dir, "keyward.db");
    const app = await portalApp({}, { db: file });
    const values = [await app.session(), await app.session()];
    for (const value of values) await app.forward(value);
    await app.signOut(values[0]!);
    app.flush();
    const bytes = [file, `${file}-wal`].map((f) => (Bun.file(f).size > 0 ? readFileSync(f).toString("latin1") : "")).join("");
    expect(bytes).toContain(app.rows()[0]!.id);
    for (const value of values) expect(bytes.includes(value) ? "stored" : "absent").toBe("absent");
    expect(app.store.db.select().from(sessions).where(eq(sessions.user, "alice")).all()).toHaveLength(2);
  });
});
