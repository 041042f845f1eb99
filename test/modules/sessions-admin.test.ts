import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase, tablesOf } from "../../src/db/client";
import { listAudit } from "../../src/modules/audit/service";
import { endSession } from "../../src/modules/sessions/service";
import { ADMIN_TOKEN, addAccount, client, formPost, type Reply } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { tempDir } from "../helpers/binary";
import { sqliteOnly } from "../helpers/engine";

const PUBLIC = "https://auth.home.lan";
const PASSWORD = "correct horse battery";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const FIELDS = ["created_at", "expires_at", "id", "ip", "last_seen_at", "user"];
const browser = { accept: "text/html", "x-forwarded-proto": "https", "x-forwarded-host": "wiki.home.lan", "x-forwarded-uri": "/" };

/** The in-process app with the portal on and alice's and bob's accounts; `signIn` opens a session and returns its cookie value and id. */
async function sessionsApp(env: Record<string, string> = {}, options: { db?: string } = {}) {
  const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "home.lan", ...env }, {}, options);
  await addAccount(app, "alice", PASSWORD);
  await addAccount(app, "bob", PASSWORD);
  const admin = client(app);
  const signIn = async (username = "alice") => {
    const res = await app.fetch("/signin", formPost({ username, password: PASSWORD }, { origin: PUBLIC }));
    expect(res.status).toBe(303);
    const value = /^keyward_session=([A-Za-z0-9_-]{43});/.exec(res.headers.get("set-cookie") ?? "")![1]!;
    const { sessions } = tablesOf(app.store.db);
    const id = (await app.store.db.select({ id: sessions.id, hash: sessions.hash }).from(sessions)).find((row) => row.hash === new Bun.CryptoHasher("sha256").update(value).digest("hex"))!.id;
    return { value, id };
  };
  const forward = (value: string, headers: Record<string, string> = {}) => app.fetch("/auth/forward", { headers: { cookie: `keyward_session=${value}`, ...headers } });
  const listed = async (query = "") => {
    const res = await admin.get(`/api/v1/sessions${query}`);
    expect(res.status).toBe(200);
    return res.body as Record<string, string>[];
  };
  const ids = async (query = "") => (await listed(query)).map((session) => session.id);
  const end = (id: string) => admin.delete(`/api/v1/sessions/${id}`);
  return { ...app, admin, signIn, forward, listed, ids, end };
}

describe("listing sessions", () => {
  test("the open sessions, newest first, with the documented fields and never the cookie or its hash", async () => {
    const app = await sessionsApp();
    const first = await app.signIn("alice");
    app.clock.advance(1000);
    const second = await app.signIn("bob");
    const res = await app.admin.get("/api/v1/sessions");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-next-cursor")).toBeNull();
    const [newest, oldest] = res.body as Record<string, string>[];
    expect([newest!.id, oldest!.id]).toEqual([second.id, first.id]);
    expect(Object.keys(newest!).sort()).toEqual(FIELDS);
    expect(newest).toMatchObject({ user: "bob", ip: "127.0.0.1", last_seen_at: newest!.created_at });
    const text = JSON.stringify(res.body);
    const { sessions } = tablesOf(app.store.db);
    const hashes = await app.store.db.select({ hash: sessions.hash }).from(sessions);
    for (const secret of [first.value, second.value, ...hashes.map((row) => row.hash)]) expect(text).not.toContain(secret);
  });

  test("expires_at is the earlier of the idle end and the absolute end, and moves with use", async () => {
    const app = await sessionsApp({ KEYWARD_SESSION_IDLE: "1h", KEYWARD_SESSION_MAX: "3h" });
    const { value } = await app.signIn();
    const [fresh] = await app.listed();
    expect(Date.parse(fresh!.expires_at!) - Date.parse(fresh!.created_at!)).toBe(HOUR);
    app.clock.advance(50 * MINUTE);
    expect((await app.forward(value)).status).toBe(200);
    const [used] = await app.listed();
    // The test clock is real time plus what was advanced: a few milliseconds pass between steps.
    expect(Date.parse(used!.last_seen_at!) - Date.parse(used!.created_at!)).toBeWithin(50 * MINUTE, 50 * MINUTE + 5000);
    expect(Date.parse(used!.expires_at!) - Date.parse(used!.last_seen_at!)).toBe(HOUR);
    for (let i = 0; i < 2; i++) {
      app.clock.advance(50 * MINUTE);
      expect((await app.forward(value)).status).toBe(200);
    }
    const [late] = await app.listed();
    expect(Date.parse(late!.expires_at!) - Date.parse(late!.created_at!)).toBe(3 * HOUR);
  });

  test("a session leaves the list when it goes idle, and at its absolute end however used", async () => {
    const app = await sessionsApp({ KEYWARD_SESSION_IDLE: "1h", KEYWARD_SESSION_MAX: "3h" });
    const idle = await app.signIn();
    app.clock.advance(1000);
    const used = await app.signIn("bob");
    for (let i = 0; i < 3; i++) {
      app.clock.advance(50 * MINUTE);
      expect((await app.forward(used.value)).status).toBe(200);
      expect(await app.ids()).toEqual(i === 0 ? [used.id, idle.id] : [used.id]);
    }
    app.clock.advance(30 * MINUTE);
    expect((await app.forward(used.value)).status).toBe(401);
    expect(await app.ids()).toEqual([]);
  });

  test("signed-out sessions are not listed", async () => {
    const app = await sessionsApp();
    const gone = await app.signIn();
    const kept = await app.signIn();
    const res = await app.fetch("/signout", { method: "POST", headers: { origin: PUBLIC, cookie: `keyward_session=${gone.value}` } });
    expect(res.status).toBe(303);
    expect(await app.ids()).toEqual([kept.id]);
  });

  test("a page at a time: limit, X-Next-Cursor, nothing twice or skipped; another list's cursor and a bad limit are 422", async () => {
    const app = await sessionsApp();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.unshift((await app.signIn(i % 2 ? "bob" : "alice")).id);
      app.clock.advance(1000);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    const pages: number[] = [];
    do {
      const res: Reply = await app.admin.get(`/api/v1/sessions?limit=2${cursor === null ? "" : `&cursor=${cursor}`}`);
      expect(res.status).toBe(200);
      pages.push(res.body.length);
      seen.push(...res.body.map((session: { id: string }) => session.id));
      cursor = res.headers.get("x-next-cursor");
    } while (cursor !== null);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen).toEqual(made);
    const tokensCursor = (await app.admin.get("/api/v1/users?limit=1")).headers.get("x-next-cursor")!;
    for (const query of [`cursor=${tokensCursor}`, "cursor=not-a-cursor", "limit=0", "limit=501", "limit=two"]) {
      const res = await app.admin.get(`/api/v1/sessions?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 422 });
      expect(Object.keys(res.body).sort()).toEqual(["code", "detail", "error"]);
    }
  });

  test("?user= is matched in any spelling of the name, as everywhere else; a name that cannot be one is 422", async () => {
    const app = await sessionsApp();
    await addAccount(app, "josé", PASSWORD);
    const alice = await app.signIn("alice");
    const jose = await app.signIn("Jose\u0301");
    await app.signIn("bob");
    expect(await app.ids("?user=ALICE")).toEqual([alice.id]);
    expect(await app.ids(`?user=${encodeURIComponent(" Jose\u0301 ")}`)).toEqual([jose.id]);
    expect(await app.ids(`?user=${encodeURIComponent("JOSÉ")}`)).toEqual([jose.id]);
    expect(await app.ids("?user=nobody")).toEqual([]);
    for (const user of ["a b", "", "x".repeat(65), "%00"]) {
      const res = await app.admin.get(`/api/v1/sessions?user=${user === "%00" ? user : encodeURIComponent(user)}`);
      expect({ user, status: res.status }).toEqual({ user, status: 422 });
    }
  });

  test("a disabled user's sessions stay listed (they work again if the user is enabled), so an admin can end them first", async () => {
    const app = await sessionsApp();
    const { id, value } = await app.signIn();
    const patch = (disabled: boolean) => app.fetch("/api/v1/users/alice", { method: "PATCH", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ disabled }) });
    expect((await patch(true)).status).toBe(200);
    expect(await app.ids()).toEqual([id]);
    expect((await app.end(id)).status).toBe(204);
    expect((await patch(false)).status).toBe(200);
    expect((await app.forward(value)).status).toBe(401);
  });
});

describe("ending a session", () => {
  test("204 with no body; its cookie is refused at /auth/forward at once (401 for a script, 302 for a browser); the user's other session goes on", async () => {
    const app = await sessionsApp();
    const ended = await app.signIn();
    const other = await app.signIn();
    expect((await app.forward(ended.value)).status).toBe(200);
    const res = await app.end(ended.id);
    expect(res.status).toBe(204);
    expect(res.body).toBe("");
    expect((await app.forward(ended.value)).status).toBe(401);
    const sent = await app.forward(ended.value, browser);
    expect(sent.status).toBe(302);
    expect(sent.headers.get("location")).toStartWith(`${PUBLIC}/signin?rd=`);
    expect((await app.forward(other.value)).status).toBe(200);
    expect(await app.ids()).toEqual([other.id]);
  });

  test("audited as session.ended: the admin as actor, the session's user and id", async () => {
    const app = await sessionsApp();
    const { id } = await app.signIn();
    expect((await app.end(id)).status).toBe(204);
    const [event] = (await app.admin.get("/api/v1/audit?action=session.ended")).body;
    expect(event).toMatchObject({ action: "session.ended", actor: "admin", user: "alice", token_id: id, ip: "127.0.0.1" });
    expect(event.detail).toStartWith("signed in ");
  });

  test.each([
    ["an id no session had", "ses_AAAAAAAAAAAAAAAA"],
    ["a malformed id", "not-a-session"],
    ["text that would be SQL", encodeURIComponent("ses_' OR 1=1 --")],
  ])("%s: 404 session_not_found", async (_, id) => {
    const app = await sessionsApp();
    await app.signIn();
    const res = await app.end(id);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: expect.any(String), code: "session_not_found", detail: expect.any(String) });
    expect(await app.listed()).toHaveLength(1);
  });

  test("its cookie value is not an id: 404, and the session goes on", async () => {
    const app = await sessionsApp();
    const { value } = await app.signIn();
    expect((await app.end(value)).status).toBe(404);
    expect((await app.forward(value)).status).toBe(200);
  });

  test("an ended or signed-out session is not found (404), and nothing more is audited", async () => {
    const app = await sessionsApp();
    const ended = await app.signIn();
    expect((await app.end(ended.id)).status).toBe(204);
    expect((await app.end(ended.id)).status).toBe(404);
    const signedOut = await app.signIn();
    await app.fetch("/signout", { method: "POST", headers: { origin: PUBLIC, cookie: `keyward_session=${signedOut.value}` } });
    expect((await app.end(signedOut.id)).status).toBe(404);
    expect((await listAudit(app.store.db, { action: "session.ended" })).items).toHaveLength(1);
  });

  test("one past its lifetimes (here) is ended all the same: the CLI may judge expiry by other settings than a server still honouring it", async () => {
    const app = await sessionsApp({ KEYWARD_SESSION_IDLE: "1h" });
    const { id } = await app.signIn();
    app.clock.advance(HOUR);
    expect(await app.ids()).toEqual([]);
    expect((await app.end(id)).status).toBe(204);
    expect((await app.end(id)).status).toBe(404);
  });

  test("two admins ending it at once: one 204, one 404, one audit event", async () => {
    const app = await sessionsApp();
    const { id } = await app.signIn();
    const statuses = (await Promise.all([app.end(id), app.end(id)])).map((res) => res.status).sort();
    expect(statuses).toEqual([204, 404]);
    expect((await listAudit(app.store.db, { action: "session.ended" })).items).toHaveLength(1);
  });

  test("a path id that cannot be decoded, or is too long, is 422 in the error shape", async () => {
    const app = await sessionsApp();
    for (const id of ["%FF", "s".repeat(513)]) {
      const res = await app.end(id);
      expect({ id: id.slice(0, 8), status: res.status, code: res.body.code }).toEqual({ id: id.slice(0, 8), status: 422, code: "validation_failed" });
    }
  });

  sqliteOnly("a second SQLite handle on the database file")("ended by another process (the CLI, on the same file), it is refused within a second", async () => {
    const dir = tempDir("keyward-sessions-");
    const file = join(dir, "keyward.db");
    const app = await sessionsApp({}, { db: file });
    const { id, value } = await app.signIn();
    expect((await app.forward(value)).status).toBe(200);
    const cli = openDatabase(file);
    try {
      await endSession(cli, id, { name: "cli" }, Date.now());
    } finally {
      cli.close();
    }
    app.clock.advance(1000);
    expect((await app.forward(value)).status).toBe(401);
  });
});

describe("who may see and end sessions", () => {
  test("no token: 401; a user's token: 403; an admin's browser session (a cookie, not a token): 401", async () => {
    const app = await sessionsApp();
    await addAccount(app, "root", PASSWORD, "admin");
    const { id, value } = await app.signIn("root");
    const userToken = (await app.admin.post("/api/v1/tokens", { user: "alice" })).body.token as string;
    for (const [who, headers, status] of [
      ["nobody", {}, 401],
      ["alice's token", { authorization: `Bearer ${userToken}` }, 403],
      ["an admin's session cookie", { cookie: `keyward_session=${value}`, origin: PUBLIC }, 401],
    ] as const) {
      const list = await app.fetch("/api/v1/sessions", { headers });
      const end = await app.fetch(`/api/v1/sessions/${id}`, { method: "DELETE", headers });
      expect({ who, list: list.status, end: end.status }).toEqual({ who, list: status, end: status });
    }
    expect(await app.ids()).toEqual([id]);
  });
});

describe("an account's changes stop its sessions at once", () => {
  const patch = (app: Awaited<ReturnType<typeof sessionsApp>>, change: object) =>
    app.fetch("/api/v1/users/alice", { method: "PATCH", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(change) });

  test("disabling refuses it at once (and it stays listed); removing and a new password end it, and it leaves the list", async () => {
    const app = await sessionsApp();
    const disabled = await app.signIn();
    expect((await patch(app, { disabled: true })).status).toBe(200);
    expect((await app.forward(disabled.value)).status).toBe(401);
    expect(await app.ids("?user=alice")).toEqual([disabled.id]);
    expect((await patch(app, { disabled: false })).status).toBe(200);

    const password = await app.signIn();
    expect((await patch(app, { password: "a brand new password" })).status).toBe(200);
    expect((await app.forward(password.value)).status).toBe(401);
    expect(await app.ids("?user=alice")).toEqual([]);

    const removed = await app.signIn("bob");
    expect((await app.admin.delete("/api/v1/users/bob")).status).toBe(200);
    expect((await app.forward(removed.value)).status).toBe(401);
    expect(await app.ids()).toEqual([]);
  });
});
