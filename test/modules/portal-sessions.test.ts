import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { sessions } from "../../src/db/schema";
import { listAudit } from "../../src/modules/audit/service";
import { ADMIN_TOKEN, addAccount, client } from "../helpers/api";
import { tempDir } from "../helpers/binary";
import { sqliteOnly } from "../helpers/engine";
import { FROM_PORTAL, PASSWORD, portalApp, proxied, PUBLIC, valueOf } from "../helpers/portal";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("a session at /auth/forward", () => {
  test("passes like a token: 200, Remote-User, Remote-Groups (the account's role), X-Keyward-Token-Id (the session id)", async () => {
    const app = await portalApp();
    const value = await app.session();
    const res = await app.forward(value, proxied);
    expect(res.status).toBe(200);
    const id = (await app.rows())[0]!.id;
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
    await app.flush();
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

  test("a use not yet written still counts when the caches are emptied before the next flush (a write here, a change on another instance)", async () => {
    const app = await portalApp({ KEYWARD_SESSION_IDLE: "1h", KEYWARD_SESSION_MAX: "3h" });
    const value = await app.session();
    app.clock.advance(50 * MINUTE);
    expect((await app.forward(value)).status).toBe(200);
    await addAccount(app, "bob", PASSWORD);
    app.clock.advance(20 * MINUTE);
    expect((await app.forward(value)).status).toBe(200);
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
    const created = (await app.rows())[0]!.createdAt.getTime();
    const lastSeen = async () => (await app.rows())[0]!.lastSeenAt.getTime() - created;
    app.clock.advance(30_000);
    await app.forward(value);
    await app.flush();
    expect(await lastSeen()).toBe(0);
    app.clock.advance(31_000);
    await app.forward(value);
    expect(await lastSeen()).toBe(0);
    await app.flush();
    expect(await lastSeen()).toBeGreaterThanOrEqual(61_000);
    const written = await lastSeen();
    app.clock.advance(20_000);
    await app.forward(value);
    await app.flush();
    expect(await lastSeen()).toBe(written);
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
    expect((await app.rows())[0]!.endedAt).not.toBeNull();
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
      expect(await app.rows()).toEqual([]);
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

  sqliteOnly("writes the database file through a second SQLite handle")("a session ended by another process (the CLI) is refused within a second", async () => {
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
    await app.flush();
    const failed = (await listAudit(app.store.db, { action: "auth.failed" })).items;
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


describe("bounded", () => {
  test("sessions past their absolute lifetime (and an hour's grace for late requests) are pruned, ended or not", async () => {
    const app = await portalApp();
    const ended = await app.session();
    await app.signOut(ended);
    await app.session();
    await app.flush();
    expect(await app.rows()).toHaveLength(2);
    app.clock.advance(7 * DAY + 2 * HOUR);
    await app.session();
    await app.flush();
    expect((await app.rows()).map((row) => row.endedAt)).toEqual([null]);
  });

  sqliteOnly("reads the database file's bytes")("no cookie value is stored in the database file", async () => {
    const dir = tempDir("keyward-portal-");
    const file = join(dir, "keyward.db");
    const app = await portalApp({}, { db: file });
    const values = [await app.session(), await app.session()];
    for (const value of values) await app.forward(value);
    await app.signOut(values[0]!);
    await app.flush();
    const bytes = [file, `${file}-wal`].map((f) => (Bun.file(f).size > 0 ? readFileSync(f).toString("latin1") : "")).join("");
    expect(bytes).toContain((await app.rows())[0]!.id);
    for (const value of values) expect(bytes.includes(value) ? "stored" : "absent").toBe("absent");
    expect(app.store.db.select().from(sessions).where(eq(sessions.user, "alice")).all()).toHaveLength(2);
  });
});
