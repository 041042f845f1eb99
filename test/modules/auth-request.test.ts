import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, addAccount, client, formPost } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

const PUBLIC = "https://auth.home.lan";
const PASSWORD = "correct horse battery";
const HOUR = 3_600_000;
const browser = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
/** What nginx's auth_request subrequest carries: the browser's own headers, and the proxy's. */
const fromNginx = { ...browser, "x-original-url": "https://wiki.home.lan/page?id=7", "x-forwarded-for": "192.0.2.7" };
const proxiedLikeCaddy = { ...browser, "x-forwarded-proto": "https", "x-forwarded-host": "wiki.home.lan", "x-forwarded-uri": "/page?id=7" };

/** The portal on, alice's account, and a token of each kind the decision tells apart. */
async function portalApp(env: Record<string, string> = {}) {
  const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "home.lan", ...env });
  await addAccount(app, "alice", PASSWORD, "analyst");
  const signedIn = await app.fetch("/signin", formPost({ username: "alice", password: PASSWORD }, { origin: PUBLIC }));
  const session = /keyward_session=([^;]+)/.exec(signedIn.headers.get("set-cookie") ?? "")![1]!;
  const token = (await client(app).post("/api/v1/tokens", { user: "bob", role: "viewer" })).body.token as string;
  return { ...app, session, token };
}

/** What a proxy can act on: the status, the headers it copies, and the body. */
async function answer(res: Response) {
  const headers = ["remote-user", "remote-groups", "x-keyward-token-id", "www-authenticate", "retry-after", "location"];
  return { status: res.status, headers: Object.fromEntries(headers.map((name) => [name, res.headers.get(name)])), body: await res.text() };
}

describe("/auth/request: the decision /auth/forward makes, never a redirect", () => {
  test.each([
    ["no credential", () => ({})],
    ["a bad token", () => ({ authorization: "Bearer kw_nope" })],
    ["a session cookie that no session ever had", () => ({ cookie: `keyward_session=${"A".repeat(43)}` })],
  ])("a browser with %s gets 401 with the challenge and no Location, whatever the proxy's headers say", async (_, credential) => {
    const app = await portalApp();
    for (const headers of [browser, fromNginx, proxiedLikeCaddy]) {
      const res = await app.fetch("/auth/request", { headers: { ...headers, ...credential() } });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
      expect(res.headers.get("location")).toBeNull();
    }
  });

  test("where /auth/forward sends a browser to sign in (302), /auth/request answers 401", async () => {
    const app = await portalApp();
    expect((await app.fetch("/auth/forward", { headers: proxiedLikeCaddy })).status).toBe(302);
    expect((await app.fetch("/auth/request", { headers: proxiedLikeCaddy })).status).toBe(401);
  });

  test("every other answer is /auth/forward's, header for header: a token, a session, a role refused, an ended session", async () => {
    const app = await portalApp();
    const cases: [string, Record<string, string>][] = [
      ["/", { authorization: `Bearer ${app.token}` }],
      ["/", { cookie: `theme=dark; keyward_session=${app.session}` }],
      ["?role=admin", { cookie: `keyward_session=${app.session}` }],
      ["?role=viewer,admin", { authorization: `Bearer ${app.token}` }],
      ["?role=admin", { authorization: `Bearer ${app.token}` }],
      ["/", { authorization: "Bearer kw_nope" }],
      ["/", { ...browser, "x-original-url": `https://wiki.home.lan/?token=${app.token}` }],
    ];
    for (const [query, headers] of cases) {
      const path = query === "/" ? "" : query;
      const forward = await answer(await app.fetch(`/auth/forward${path}`, { headers: { ...fromNginx, ...headers } }));
      const request = await answer(await app.fetch(`/auth/request${path}`, { headers: { ...fromNginx, ...headers } }));
      expect({ asked: [query, headers], answer: request }).toEqual({ asked: [query, headers], answer: forward });
    }
    const signedOut = await app.fetch("/signout", { method: "POST", headers: { origin: PUBLIC, cookie: `keyward_session=${app.session}` } });
    expect(signedOut.status).toBe(303);
    expect((await app.fetch("/auth/request", { headers: { ...browser, cookie: `keyward_session=${app.session}` } })).status).toBe(401);
  });

  test("a session passes with the account's identity headers", async () => {
    const app = await portalApp();
    const res = await app.fetch("/auth/request", { headers: { ...browser, cookie: `keyward_session=${app.session}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("remote-user")).toBe("alice");
    expect(res.headers.get("remote-groups")).toBe("analyst");
    expect(res.headers.get("x-keyward-token-id")).toMatch(/^ses_/);
  });

  test.each(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"])("any method: %s is decided the same", async (method) => {
    const app = await portalApp();
    expect((await app.fetch("/auth/request", { method, headers: { authorization: `Bearer ${app.token}` } })).status).toBe(200);
    expect((await app.fetch("/auth/request", { method, headers: browser })).status).toBe(401);
  });

  test("an expired session sends nobody anywhere: 401", async () => {
    const app = await portalApp();
    app.clock.advance(13 * HOUR);
    expect((await app.fetch("/auth/request", { headers: { ...proxiedLikeCaddy, cookie: `keyward_session=${app.session}` } })).status).toBe(401);
  });

  test("with the portal off it is there all the same: tokens pass, browsers get 401", async () => {
    const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    expect((await app.fetch("/auth/request", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    expect((await app.fetch("/auth/request", { headers: proxiedLikeCaddy })).status).toBe(401);
  });
});

describe("only statuses nginx auth_request passes on, whatever a client sends", () => {
  test.each(["/auth/forward", "/auth/request"])("a ?role= list past 200 characters on %s is a misconfigured proxy: 403 invalid_role, not a 422, decided before any credential", async (path) => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "1" });
    const roles = Array.from({ length: 40 }, (_, i) => `role${i}`).join(",");
    expect(roles.length).toBeGreaterThan(200);
    for (let i = 0; i < 3; i++) {
      const res = await app.fetch(`${path}?role=${roles}`, { headers: { authorization: "Bearer kw_nope" } });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: expect.stringContaining("over 200 characters"), code: "invalid_role", detail: expect.any(String) });
    }
    // Not counted as guesses: the address is not locked out.
    expect((await app.fetch(path, { headers: { authorization: `Bearer ${app.token}` } })).status).toBe(200);
    const exactly = `viewer,${"x".repeat(193)}`;
    expect(exactly.length).toBe(200);
    expect((await app.fetch(`${path}?role=${exactly}`, { headers: { authorization: `Bearer ${app.token}` } })).status).toBe(200);
  });

  test("hostile requests to /auth/request get 200, 401 or 403, never anything nginx would make a 500 of", async () => {
    const app = await portalApp({ KEYWARD_MAX_FAILURES: "3" });
    const hostile: [string, RequestInit][] = [
      ["/auth/request?role=%ff%fe", {}],
      ["/auth/request?role=a&role=b&role[]=c", {}],
      ["/auth/request?role=" + "a".repeat(5000), {}],
      ["/auth/request?token=" + "A".repeat(5000), {}],
      ["/auth/request/", {}],
      ["/auth/request", { method: "POST", headers: { "content-type": "application/json" }, body: "{broken" }],
      ["/auth/request", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "%%%=&&" }],
      ["/auth/request", { method: "PUT", headers: { "content-type": "application/json", "content-length": String(2 * 1024 * 1024) }, body: "x".repeat(2 * 1024 * 1024) }],
      ["/auth/request", { headers: { authorization: "Bearer" } }],
      ["/auth/request", { headers: { authorization: `Bearer ${"x".repeat(8000)}` } }],
      ["/auth/request", { headers: { authorization: "Basic YWxpY2U6cGFzcw==" } }],
      ["/auth/request", { headers: { cookie: "keyward_token=%E0%A4%A; keyward_session=%; keyward_session=;;;" } }],
      ["/auth/request", { headers: { cookie: Array.from({ length: 50 }, () => `keyward_session=${"B".repeat(43)}`).join("; ") } }],
      ["/auth/request", { headers: { "x-original-url": "javascript:alert(1)", "x-forwarded-uri": "//evil.example/", "x-forwarded-host": "evil example", accept: "text/html" } }],
      ["/auth/request", { headers: { "x-forwarded-for": "not-an-address, ::1, 999.1.1.1", "x-hardware-fingerprint": "x".repeat(4000) } }],
    ];
    // Run twice: the second round from a locked-out address.
    for (let round = 0; round < 2; round++) {
      for (const [path, init] of hostile) {
        const res = await app.fetch(path, init);
        expect({ path, method: init.method, status: [200, 401, 403].includes(res.status) ? "passed on" : res.status }).toEqual({ path, method: init.method, status: "passed on" });
      }
    }
  });
});

describe("the sign-in page reads rd as nginx sends it, unencoded", () => {
  const hiddenRd = async (app: Awaited<ReturnType<typeof portalApp>>, query: string) => {
    const page = await (await app.fetch(`/signin?${query}`)).text();
    return /name="rd" value="([^"]*)"/.exec(page)?.[1]?.replaceAll("&amp;", "&") ?? null;
  };

  test.each([
    ["a plain URL", "rd=https://wiki.home.lan/page", "https://wiki.home.lan/page"],
    ["its own query, & and all", "rd=https://wiki.home.lan/page?x=1&y=2&rd=3", "https://wiki.home.lan/page?x=1&y=2&rd=3"],
    ["percent-escapes kept as they are, not decoded", "rd=https://wiki.home.lan:8443/a%20b?q=a%26b+c", "https://wiki.home.lan:8443/a%20b?q=a%26b+c"],
    ["a percent-encoded URL, as /auth/forward sends it", `rd=${encodeURIComponent("https://wiki.home.lan/page?x=1&y=2")}`, "https://wiki.home.lan/page?x=1&y=2"],
    ["an encoded rd first, a literal one after it: the first counts", `rd=${encodeURIComponent("https://wiki.home.lan/")}&rd=https://nas.home.lan/`, "https://wiki.home.lan/"],
  ])("%s", async (_, query, expected) => {
    expect(await hiddenRd(await portalApp(), query)).toBe(expected);
  });

  test.each([
    "rd=https://evil.example/?https://wiki.home.lan/",
    "rd=http://home.lan.evil.example/",
    "rd=https://wiki.home.lan@evil.example/",
    "rd=https://evil.example/&rd=https://wiki.home.lan/",
    "rd=//evil.example/",
    "rd=javascript:alert(1)//https://wiki.home.lan/",
  ])("still no open redirect: %s leads nowhere", async (query) => {
    expect(await hiddenRd(await portalApp(), query)).toBeNull();
  });

  test("an original URL too long to carry still gets the sign-in page, without rd, not a 422", async () => {
    const app = await portalApp();
    const res = await app.fetch(`/signin?rd=https://wiki.home.lan/${"a".repeat(5000)}`);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain('name="rd"');
  });
});
