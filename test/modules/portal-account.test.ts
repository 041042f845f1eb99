import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { tablesOf } from "../../src/db/client";
import { listAudit } from "../../src/modules/audit/service";
import { updateUser } from "../../src/modules/users/service";
import { ADMIN_TOKEN, client, formPost } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { accountsApp, FROM_PORTAL, NEW_PASSWORD, PASSWORD, PASSWORD_CHANGE, PUBLIC, valueOf } from "../helpers/portal";

/** accountsApp, and a request as the admin page would make it with the browser's console cookie. */
async function accountApp(env: Record<string, string> = {}) {
  const app = await accountsApp(env);
  const asConsole = (value: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    app.fetch(path, { ...init, headers: { cookie: `__Host-keyward_console=${value}`, ...init.headers } });
  return { ...app, asConsole };
}

const change = PASSWORD_CHANGE;

describe("the console cookie opens Keyward's own API, and only that", () => {
  test("GET /api/v1/me with it answers for the signed-in account, as a session", async () => {
    const app = await accountApp();
    const { console } = await app.signIn();
    const res = await app.asConsole(console, "/api/v1/me");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: "alice", role: "user", source: "session" });
    // A shared cache keeps back an answer to Authorization, not to a cookie: said outright.
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect((await client(app).get("/api/v1/me")).headers.get("cache-control")).toBeNull();
  });

  test("the domain cookie, which every host of the domain receives, never opens the API", async () => {
    const app = await accountApp();
    const { domain } = await app.signIn("root");
    const res = await app.fetch("/api/v1/users", { headers: { cookie: `keyward_session=${domain}` } });
    expect(res.status).toBe(401);
  });

  test("nor does the console cookie pass forward auth, or stand for the domain cookie of its session", async () => {
    const app = await accountApp();
    const { console } = await app.signIn();
    expect((await app.fetch("/auth/forward", { headers: { cookie: `__Host-keyward_console=${console}` } })).status).toBe(401);
    expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${console}` } })).status).toBe(401);
  });

  test("an admin's session is admin: reads without an Origin, changes only from Keyward's own pages", async () => {
    const app = await accountApp();
    const { console } = await app.signIn("root");
    expect((await app.asConsole(console, "/api/v1/users")).status).toBe(200);
    const create = (headers: Record<string, string>) =>
      app.asConsole(console, "/api/v1/tokens", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ user: "alice" }) });
    // A sibling host is the same site, so SameSite=Strict lets its requests carry the cookie: the Origin tells.
    const origins: Record<string, string>[] = [{}, { origin: "https://wiki.home.lan" }, { origin: "null" }, { origin: "http://auth.home.lan" }];
    for (const origin of origins) expect((await create(origin)).status).toBe(401);
    const made = await create(FROM_PORTAL);
    expect(made.status).toBe(201);
    const [event] = (await listAudit(app.store.db, { action: "token.created" })).items;
    expect(event).toMatchObject({ actor: "root", user: "alice" });
  });

  test("the admin page says whether the browser is signed in (a live console cookie), so its script asks who only then", async () => {
    const app = await accountApp();
    const { domain, console } = await app.signIn("root");
    const body = async (cookie: string) => (await app.fetch("/admin", { headers: { cookie } })).text();
    expect(await body(`__Host-keyward_console=${console}`)).toContain(' data-signin="https://auth.home.lan/signin?rd=https%3A%2F%2Fauth.home.lan%2Fadmin" data-session>');
    expect(await body(`keyward_session=${domain}`)).not.toContain("data-session");
    await app.fetch("/signout", { method: "POST", headers: { cookie: `__Host-keyward_console=${console}`, ...FROM_PORTAL } });
    expect(await body(`__Host-keyward_console=${console}`)).not.toContain("data-session");
  });

  test("a user's session is a user: admin routes say 403", async () => {
    const app = await accountApp();
    const { console } = await app.signIn();
    expect((await app.asConsole(console, "/api/v1/users")).status).toBe(403);
  });

  test("a token, when one is sent, is decided instead of the cookie", async () => {
    const app = await accountApp();
    const { console } = await app.signIn("root");
    const res = await app.asConsole(console, "/api/v1/users", { headers: { authorization: "Bearer kw_not_a_real_token" } });
    expect(res.status).toBe(401);
  });

  test("after sign-out it opens nothing", async () => {
    const app = await accountApp();
    const { domain, console } = await app.signIn();
    await app.fetch("/signout", { method: "POST", headers: { cookie: `keyward_session=${domain}; __Host-keyward_console=${console}`, ...FROM_PORTAL } });
    expect((await app.asConsole(console, "/api/v1/me")).status).toBe(401);
  });

  test("signing out by the console cookie alone ends the session for forward auth too", async () => {
    const app = await accountApp();
    const { domain, console } = await app.signIn();
    await app.fetch("/signout", { method: "POST", headers: { cookie: `__Host-keyward_console=${console}`, ...FROM_PORTAL } });
    expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${domain}` } })).status).toBe(401);
  });

  test("with the portal off the cookie is nothing", async () => {
    const on = await accountApp();
    const { console } = await on.signIn();
    const off = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    expect((await off.fetch("/api/v1/me", { headers: { cookie: `__Host-keyward_console=${console}` } })).status).toBe(401);
  });

  test("a console cookie nobody was given is refused and audited, but not counted towards the lockout", async () => {
    const app = await accountApp({ KEYWARD_MAX_FAILURES: "2" });
    for (let i = 0; i < 3; i++) expect((await app.asConsole("A".repeat(43), "/api/v1/me")).status).toBe(401);
    expect((await client(app, "kw_wrong").get("/api/v1/me")).status).toBe(401);
    await app.flush();
    expect((await listAudit(app.store.db, { action: "auth.failed" })).items.map(({ detail }) => detail)).toContain("session unknown");
  });
});

describe("changing one's own password from the portal", () => {
  test("the signed-in page offers the form (and the admin page to admins)", async () => {
    const app = await accountApp();
    const page = async (who: string) => {
      const { domain, console } = await app.signIn(who);
      return (await app.asConsole(console, "/signin", { headers: { cookie: `keyward_session=${domain}; __Host-keyward_console=${console}` } })).text();
    };
    const alice = await page("alice");
    expect(alice).toContain('<form method="post" action="/account/password">');
    expect(alice).toContain('autocomplete="new-password"');
    expect(alice).not.toContain('href="/admin"');
    expect(await page("root")).toContain('<a href="/admin">Admin page</a>');
  });

  test("success: every other session and login token ends, this browser gets a new session, the new password works", async () => {
    const app = await accountApp();
    const elsewhere = await app.signIn();
    const here = await app.signIn();
    const login = await client(app, "").post<{ token: string }>("/login", { username: "alice", password: PASSWORD });
    expect(login.status).toBe(200);

    const res = await app.changePassword(here.console, change);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${PUBLIC}/signin?notice=password`);
    const fresh = { domain: valueOf(res, "keyward_session")!, console: valueOf(res, "__Host-keyward_console")! };
    expect(fresh.console).not.toBe(here.console);

    for (const old of [elsewhere, here]) {
      expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${old.domain}` } })).status).toBe(401);
      expect((await app.asConsole(old.console, "/api/v1/me")).status).toBe(401);
    }
    expect((await client(app, login.body.token).get("/api/v1/me")).status).toBe(401);
    expect((await app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${fresh.domain}` } })).status).toBe(200);
    const both = `keyward_session=${fresh.domain}; __Host-keyward_console=${fresh.console}`;
    expect(await (await app.fetch("/signin?notice=password", { headers: { cookie: both } })).text()).toContain("Your password was changed.");

    expect((await app.fetch("/signin", formPost({ username: "alice", password: PASSWORD }, FROM_PORTAL))).status).toBe(401);
    await app.signIn("alice", NEW_PASSWORD);
    const [event] = (await listAudit(app.store.db, { action: "user.updated" })).items;
    expect(event).toMatchObject({ actor: "alice", user: "alice", detail: "password" });
  });

  test("a wrong current password: the page again (401), nothing changed, and it counts towards the lockout", async () => {
    const app = await accountApp({ KEYWARD_MAX_FAILURES: "2" });
    const { console } = await app.signIn();
    const wrong = await app.changePassword(console, { ...change, current_password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("The current password is not right.");
    expect((await app.changePassword(console, { ...change, current_password: "still not it" })).status).toBe(401);
    const locked = await app.changePassword(console, change);
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await app.asConsole(console, "/api/v1/me")).status).toBe(200);
  });

  test.each([
    ["the two new passwords differ", { ...change, confirm_password: "something else entirely" }, "The two new passwords are not the same."],
    ["a new password under 8 characters", { ...change, new_password: "short", confirm_password: "short" }, "A password is 8 to 1024 characters."],
    ["no new password at all", { current_password: PASSWORD }, "A password is 8 to 1024 characters."],
  ])("%s: 400 with the reason, before the current password is even checked", async (_, fields, message) => {
    const app = await accountApp({ KEYWARD_MAX_FAILURES: "1" });
    const { console } = await app.signIn();
    const res = await app.changePassword(console, fields);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(message);
    expect((await listAudit(app.store.db, { action: "login.failed" })).items).toEqual([]);
  });

  test("from another origin, or with no Origin: 403 before anything else", async () => {
    const app = await accountApp();
    const { console } = await app.signIn();
    const origins: Record<string, string>[] = [{}, { origin: "https://wiki.home.lan" }, { origin: "null" }];
    for (const headers of origins) expect((await app.changePassword(console, change, headers)).status).toBe(403);
    await app.signIn("alice", PASSWORD);
  });

  test("with only the domain cookie (what a service behind the proxy sees), or none: sent to sign in, nothing changed", async () => {
    const app = await accountApp();
    const { domain } = await app.signIn();
    const withDomain = await app.fetch("/account/password", formPost(change, { cookie: `keyward_session=${domain}`, ...FROM_PORTAL }));
    const withNone = await app.fetch("/account/password", formPost(change, FROM_PORTAL));
    for (const res of [withDomain, withNone]) {
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`${PUBLIC}/signin`);
    }
    await app.signIn("alice", PASSWORD);
  });

  test("a change checked against a password that an admin replaced meanwhile is refused", async () => {
    const app = await accountApp();
    const { users } = tablesOf(app.store.db);
    const [before] = await app.store.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.username, "alice"));
    await updateUser(app.store, "alice", { password: "set by the admin" }, { name: "root" });
    const late = updateUser(app.store, "alice", { password: NEW_PASSWORD, passwordWas: before!.passwordHash }, { name: "alice" });
    await expect(late).rejects.toMatchObject({ code: "password_changed" });
  });
});
