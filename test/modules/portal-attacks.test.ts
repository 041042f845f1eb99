import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/config";
import { resolveConfig } from "../../src/config-load";
import { tablesOf } from "../../src/db/client";
import { MAX_SESSIONS_PER_USER } from "../../src/modules/portal/sessions";
import { ADMIN_TOKEN, client, formPost } from "../helpers/api";
import { changesSettled } from "../helpers/engine";
import { accountsApp, FROM_PORTAL, PASSWORD, PASSWORD_CHANGE, PUBLIC, valueOf } from "../helpers/portal";

const change = PASSWORD_CHANGE;

/** accountsApp, and a hostile client's view of it. */
async function attackedApp(env: Record<string, string> = {}) {
  const app = await accountsApp(env);
  const sessionRows = async () => await app.store.db.select().from(tablesOf(app.store.db).sessions);
  const openSessions = async () => (await sessionRows()).filter((row) => row.endedAt === null);
  const patchUser = (name: string, body: object) =>
    app.fetch(`/api/v1/users/${name}`, { method: "PATCH", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { ...app, sessionRows, openSessions, patchUser };
}

/** A password change whose check of the current password is held until `meanwhile` has run: its answer. */
async function changeWhile(app: Awaited<ReturnType<typeof attackedApp>>, console: string, meanwhile: () => Promise<unknown>): Promise<Response> {
  const hold = holdPasswordChecks();
  try {
    const changing = app.changePassword(console);
    await hold.checked;
    await meanwhile();
    hold.release();
    return await changing;
  } finally {
    hold.release();
  }
}

/** Holds every argon2id check after it is made, until `release`: a change's check of the current password, say. */
function holdPasswordChecks() {
  const verify = Bun.password.verify;
  const checked = Promise.withResolvers<void>();
  const released = Promise.withResolvers<void>();
  Bun.password.verify = async (...args: Parameters<typeof verify>) => {
    const matches = await verify(...args);
    checked.resolve();
    await released.promise;
    return matches;
  };
  return {
    checked: checked.promise,
    release() {
      Bun.password.verify = verify;
      released.resolve();
    },
  };
}

describe("a hostile page cannot make a signed-in browser change anything", () => {
  test.each([
    ["an Origin with a trailing slash", { origin: `${PUBLIC}/` }],
    ["the Origin in capitals", { origin: PUBLIC.toUpperCase() }],
    ["the Origin with its default port spelled out", { origin: `${PUBLIC}:443` }],
    ["the portal's Origin and a sibling's, as two headers", [["origin", PUBLIC], ["origin", "https://wiki.home.lan"]] as [string, string][]],
    ["a Referer from the portal and no Origin", { referer: `${PUBLIC}/signin` }],
    ["a method override header on a GET", { "x-http-method-override": "DELETE" }],
  ])("%s: the API ignores the console cookie, the portal's forms refuse (403), nothing changes", async (_, extra) => {
    const app = await attackedApp();
    const root = await app.signIn("root");
    const alice = await app.signIn();
    const headers = (cookie: string, more: Record<string, string> = {}) => {
      const all = new Headers(extra);
      for (const [name, value] of Object.entries({ cookie, ...more })) all.set(name, value);
      return all;
    };
    const asRoot = `__Host-keyward_console=${root.console}`;
    const json = { "content-type": "application/json" };
    const attempts = [
      app.fetch("/api/v1/users/alice", { method: "PATCH", headers: headers(asRoot, json), body: JSON.stringify({ disabled: true }) }),
      app.fetch("/api/v1/users/alice", { method: "DELETE", headers: headers(asRoot) }),
      app.fetch("/api/v1/tokens", { method: "POST", headers: headers(asRoot, json), body: JSON.stringify({ user: "alice" }) }),
      app.fetch("/api/v1/users/alice", { method: "GET", headers: headers(asRoot) }),
    ];
    expect((await Promise.all(attempts)).map((res) => res.status)).toEqual([401, 401, 401, 404]);
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const asAlice = `__Host-keyward_console=${alice.console}`;
    const password = await app.fetch("/account/password", { method: "POST", headers: headers(asAlice, form), body: new URLSearchParams(change).toString() });
    const signOut = await app.fetch("/signout", { method: "POST", headers: headers(asAlice) });
    expect([password.status, signOut.status]).toEqual([403, 403]);
    expect((await client(app).get("/api/v1/users")).body.map((user: { disabled: boolean }) => user.disabled)).toEqual([false, false]);
    expect((await app.fetch("/api/v1/me", { headers: { cookie: asAlice } })).status).toBe(200);
    await app.signIn("alice", PASSWORD);
  });
});

describe("a console cookie whose session no longer opens anything", () => {
  test.each([
    ["signed out", "signout"],
    ["ended by an admin", "admin"],
    ["idle past KEYWARD_SESSION_IDLE", "idle"],
    ["of a disabled account", "disabled"],
  ])("%s: refused by the API, the admin page and the password change, and never counted as a guess", async (_, how) => {
    const app = await attackedApp({ KEYWARD_MAX_FAILURES: "2", KEYWARD_SESSION_IDLE: "1h" });
    const root = await app.signIn("root");
    const cookie = `__Host-keyward_console=${root.console}`;
    const { id } = (await app.openSessions())[0]!;
    const ending = {
      signout: () => app.fetch("/signout", { method: "POST", headers: { cookie, ...FROM_PORTAL } }),
      admin: () => client(app).delete(`/api/v1/sessions/${id}`),
      idle: async () => app.clock.advance(60 * 60_000),
      disabled: () => app.patchUser("root", { disabled: true }),
    }[how]!;
    await ending();
    for (let i = 0; i < 3; i++) {
      expect((await app.fetch("/api/v1/users", { headers: { cookie } })).status).toBe(401);
      expect(await (await app.fetch("/admin", { headers: { cookie } })).text()).not.toContain("data-session");
      const password = await app.fetch("/account/password", formPost(change, { cookie, ...FROM_PORTAL }));
      expect([password.status, password.headers.get("location")]).toEqual([303, `${PUBLIC}/signin`]);
      expect(password.headers.getSetCookie().every((set) => set.includes("Max-Age=0"))).toBe(true);
    }
    await app.signIn("alice");
  });
});

describe("the signed-in page", () => {
  test.each(["__proto__", "constructor", "toString", "hasOwnProperty"])("?notice=%s, a name every object has, is ignored like any unknown notice (not a 500)", async (notice) => {
    const app = await attackedApp();
    const { domain, console } = await app.signIn();
    const res = await app.fetch(`/signin?notice=${notice}`, { headers: { cookie: `keyward_session=${domain}; __Host-keyward_console=${console}` } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain("You are signed in as <strong>alice</strong>");
    expect(page).not.toContain('class="notice"');
  });
});

describe("a password change racing other changes", () => {
  test("twenty at once through one session: one changes it, the rest are refused, one session is left", async () => {
    const app = await attackedApp({ KEYWARD_MAX_FAILURES: "30" });
    const { console } = await app.signIn();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => app.changePassword(console, { current_password: PASSWORD, new_password: `new password ${i}`, confirm_password: `new password ${i}` })));
    const winner = answers.findIndex((res) => valueOf(res, "__Host-keyward_console") !== null);
    // The rest: refused after their check (409), or, if the winner was done first, sent to sign in.
    const others = answers.filter((_, i) => i !== winner).map((res) => (res.status === 303 ? res.headers.get("location") : res.status));
    expect(others.every((answer) => answer === 409 || answer === `${PUBLIC}/signin`)).toBe(true);
    expect(answers.filter((res) => res.headers.getSetCookie().some((cookie) => !cookie.includes("Max-Age=0")))).toHaveLength(1);
    expect(await app.openSessions()).toHaveLength(1);
    await app.signIn("alice", `new password ${winner}`);
  });

  test("wrong guesses sent at once get only the lockout's budget of checks; the rest are 429", async () => {
    const app = await attackedApp({ KEYWARD_MAX_FAILURES: "3" });
    const { console } = await app.signIn();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => app.changePassword(console, { ...change, current_password: `guess ${i}` })));
    expect(answers.map((res) => res.status).sort()).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
  });

  test("an account disabled while its own change is checked keeps its password: 409, and no session", async () => {
    const app = await attackedApp();
    const { console } = await app.signIn();
    const res = await changeWhile(app, console, async () => expect((await app.patchUser("alice", { disabled: true })).status).toBe(200));
    expect(res.status).toBe(409);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((await app.patchUser("alice", { disabled: false })).status).toBe(200);
    expect(await app.openSessions()).toHaveLength(1);
    await app.signIn("alice", PASSWORD);
  });

  test.each([
    ["signs out", "signout"],
    ["has it ended by an admin", "admin"],
    ["has its role changed", "role"],
  ])("a browser that %s while its change is checked changes nothing and gets no new session (409)", async (_, how) => {
    const app = await attackedApp();
    const { console } = await app.signIn();
    const { id } = (await app.openSessions())[0]!;
    const ending = {
      signout: () => app.fetch("/signout", { method: "POST", headers: { cookie: `__Host-keyward_console=${console}`, ...FROM_PORTAL } }),
      admin: () => client(app).delete(`/api/v1/sessions/${id}`),
      role: () => app.patchUser("alice", { role: "analyst" }),
    }[how]!;
    const res = await changeWhile(app, console, async () => expect([200, 204, 303]).toContain((await ending()).status));
    expect(res.status).toBe(409);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await app.openSessions()).toEqual([]);
    await app.signIn("alice", PASSWORD);
  });
});

describe("ending sessions by odd ids", () => {
  test.each([
    ["a NUL", "ses_%00"],
    ["a path that climbs", "..%2F..%2Fusers%2Falice"],
    ["a right-to-left override", "ses_%E2%80%AE"],
    ["a carriage return and line feed", "ses_AAAA%0D%0AX-Injected%3A%201"],
    ["an emoji", encodeURIComponent("ses_😀")],
  ])("%s: 404 session_not_found, and every session goes on", async (_, id) => {
    const app = await attackedApp();
    const { domain } = await app.signIn();
    const res = await client(app).delete(`/api/v1/sessions/${id}`);
    expect([res.status, res.body.code]).toEqual([404, "session_not_found"]);
    expect(res.headers.get("x-injected")).toBeNull();
    expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${domain}` } })).status).toBe(200);
  });
});

describe("one person signing in over and over", () => {
  test(`keeps at most ${MAX_SESSIONS_PER_USER} sessions: each sign-in past it removes the oldest, whose cookie then opens nothing`, async () => {
    const app = await attackedApp();
    const first = await app.signIn();
    const rest = [];
    for (let i = 0; i < MAX_SESSIONS_PER_USER + 4; i++) rest.push(await app.signIn());
    const rows = (await app.sessionRows()).filter((row) => row.user === "alice");
    expect(rows).toHaveLength(MAX_SESSIONS_PER_USER);
    expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${first.domain}` } })).status).toBe(401);
    expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${rest.at(-1)!.domain}` } })).status).toBe(200);
    await app.signIn("root");
    expect((await app.sessionRows()).filter((row) => row.user === "root")).toHaveLength(1);
  });
});

describe("sign-out by a stranger", () => {
  test("made-up, malformed or already-ended cookies write nothing, so they cannot keep the hot path's caches empty", async () => {
    const app = await attackedApp();
    const ended = await app.signIn();
    const signOut = (cookie: string) => app.fetch("/signout", { method: "POST", headers: { cookie, ...FROM_PORTAL } });
    await signOut(`keyward_session=${ended.domain}`);
    await changesSettled(app.store);
    const before = app.store.changes.current(app.clock.now());
    for (const cookie of [`keyward_session=${"A".repeat(43)}`, "keyward_session=junk; keyward_session=x", `keyward_session=${ended.domain}; __Host-keyward_console=${ended.console}`]) {
      expect((await signOut(cookie)).status).toBe(303);
    }
    expect(app.store.changes.current(app.clock.now())).toBe(before);
    const live = await app.signIn();
    await signOut(`keyward_session=${live.domain}`);
    expect(app.store.changes.current(app.clock.now())).toBeGreaterThan(before);
    expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${live.domain}` } })).status).toBe(401);
  });
});

describe("cookies another host of the domain sets (cookie tossing)", () => {
  test("over https the console cookie is __Host-: a plain keyward_console, which any host of the domain could set, opens nothing", async () => {
    const app = await attackedApp();
    const { console } = await app.signIn("root");
    expect((await app.fetch("/api/v1/users", { headers: { cookie: `keyward_console=${console}` } })).status).toBe(401);
    expect((await app.fetch("/api/v1/users", { headers: { cookie: `__Host-keyward_console=${console}` } })).status).toBe(200);
  });

  test("over http, a second console cookie (a sibling's, passing its own session off as the browser's) makes neither believed", async () => {
    const app = await attackedApp({ KEYWARD_PUBLIC_URL: "http://auth.home.lan" });
    const signIn = async (username: string) => {
      const res = await app.fetch("/signin", formPost({ username, password: PASSWORD }, { origin: "http://auth.home.lan" }));
      return valueOf(res, "keyward_console")!;
    };
    const victim = await signIn("root");
    const attacker = await signIn("alice");
    const me = (cookie: string) => app.fetch("/api/v1/me", { headers: { cookie } });
    expect((await me(`keyward_console=${victim}`)).status).toBe(200);
    for (const cookie of [`keyward_console=${attacker}; keyward_console=${victim}`, `keyward_console=${victim}; keyward_console=${attacker}`]) {
      expect((await me(cookie)).status).toBe(401);
      expect(await (await app.fetch("/admin", { headers: { cookie } })).text()).not.toContain("data-session");
      expect(await (await app.fetch("/signin", { headers: { cookie } })).text()).toContain('action="/signin"');
    }
  });

  test("junk domain cookies set ahead of the real one do not push it out of sight", async () => {
    const app = await attackedApp();
    const { domain } = await app.signIn();
    const junk = Array.from({ length: 6 }, (_, i) => `keyward_session=junk${i}`).join("; ");
    expect((await app.fetch("/auth/forward", { headers: { cookie: `${junk}; keyward_session=${domain}` } })).status).toBe(200);
  });
});

describe("a cookie domain browsers would refuse", () => {
  test.each([
    ["lan", "one label, which browsers hold to be a public suffix", "home.lan"],
    ["localhost", "one label", "home.localhost"],
    ["home.arpa", "RFC 8375's home network name, on the Public Suffix List", "lan.home.arpa"],
    ["github.io", "a private entry of the list", "lan.github.io"],
  ])("KEYWARD_COOKIE_DOMAIN=%s (%s) is refused at start, naming one that works", (domain, _, suggested) => {
    const env = { KEYWARD_PUBLIC_URL: `https://auth.x.${domain}`, KEYWARD_COOKIE_DOMAIN: domain };
    const resolve = () => resolveConfig({ flags: {}, env, dotenv: {} });
    expect(resolve).toThrow(ConfigError);
    expect(resolve).toThrow(`KEYWARD_COOKIE_DOMAIN="${domain}": is a public suffix, for which browsers refuse cookies: use a name under it for the hosts that share a sign-in, like ${suggested}`);
  });

  test.each(["home.lan", "lan.home.arpa", "keyward.test", "example.com"])("KEYWARD_COOKIE_DOMAIN=%s, under a public suffix, is taken", (domain) => {
    const env = { KEYWARD_PUBLIC_URL: `https://auth.${domain}`, KEYWARD_COOKIE_DOMAIN: domain };
    expect(resolveConfig({ flags: {}, env, dotenv: {} }).cookieDomain).toBe(domain);
  });
});
