import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { runKeyward } from "../helpers/binary";
import { serverPool, startKeyward, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });

const invalid = { error: "Invalid or expired authentication token", code: "invalid_token", detail: "Invalid or expired authentication token" };

async function createToken(server: RunningServer, body: Record<string, unknown> = { user: "alice" }) {
  const res = await client(server).post("/api/v1/tokens", body);
  expect(res.status).toBe(201);
  return res.body as { token: string; id: string } & Record<string, unknown>;
}

describe("presenting a token", () => {
  let server: RunningServer;
  let token: string;
  beforeAll(async () => {
    server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });
    token = (await createToken(server, { user: "Alice" })).token;
  });
  afterAll(() => server.stop());

  const ways: [string, (t: string) => [string, Record<string, string>], number][] = [
    ["Bearer header", (t) => ["/data", { authorization: `Bearer ${t}` }], 200],
    ["lower-case scheme", (t) => ["/data", { authorization: `bearer ${t}` }], 200],
    ["upper-case scheme", (t) => ["/data", { authorization: `BEARER ${t}` }], 200],
    ["query parameter (seed 000)", (t) => [`/data?token=${t}`, {}], 200],
    ["nothing", () => ["/data", {}], 401],
    ["Basic instead of Bearer", (t) => ["/data", { authorization: `Basic ${btoa(`alice:${t}`)}` }], 401],
    ["Bearer with no token", () => ["/data", { authorization: "Bearer" }], 401],
    ["Bearer with two tokens", (t) => ["/data", { authorization: `Bearer ${t} ${t}` }], 401],
    ["Bearer with a character a token never has", (t) => ["/data", { authorization: `Bearer ${t}"` }], 401],
    ["a mistyped token", (t) => ["/data", { authorization: `Bearer ${t.slice(0, -1)}${t.endsWith("x") ? "y" : "x"}` }], 401],
    ["a made-up token of the right shape", () => ["/data", { authorization: `Bearer kw_${"A".repeat(49)}` }], 401],
    ["a broken header with a good query token", (t) => [`/data?token=${t}`, { authorization: "Bearer bad token" }], 401],
  ];

  test.each(ways)("%s → %i", async (_, make, status) => {
    const [path, headers] = make(token);
    const res = await server.fetch(path, { headers });
    expect(res.status).toBe(status);
    if (status === 200) {
      expect(await res.json()).toEqual({ message: "Hello alice, here is your data!" });
    } else {
      expect(await res.json()).toEqual(invalid);
      expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    }
  });

  test("/api/v1/me shows the principal", async () => {
    const me = await client(server, token).get("/api/v1/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: "alice", role: "user", source: "api" });
    expect(me.body.token_id).toMatch(/^tok_/);
    expect(Date.parse(me.body.expires_at)).toBeGreaterThan(Date.now() + 89 * 86_400_000);
  });

  test("a non-admin token gets 403 on every management endpoint", async () => {
    const user = client(server, token);
    for (const res of [
      await user.get("/api/v1/tokens"),
      await user.post("/api/v1/tokens", { user: "mallory", role: "admin" }),
      await user.get("/api/v1/audit"),
      await user.post("/api/v1/tokens/revoke", { user: "alice" }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: "This needs the admin role", code: "insufficient_role", detail: "This needs the admin role" });
    }
  });
});

describe("the token lifecycle over HTTP", () => {
  test("create returns the secret once; records never carry it", async () => {
    const server = await start();
    const created = await createToken(server, { user: "bob", name: "bob's laptop", role: "analyst", expires_in: "12h", allowed_ips: ["127.0.0.0/8"] });
    expect(created).toMatchObject({ user: "bob", name: "bob's laptop", role: "analyst", source: "api", status: "active", allowed_ips: ["127.0.0.0/8"], request_count: 0 });
    expect(created.hint).toBe(`kw_…${created.token.slice(-4)}`);
    expect(Date.parse(created.expires_at as string) - Date.parse(created.created_at as string)).toBe(12 * 3_600_000);
    const one = await client(server).get(`/api/v1/tokens/${created.id}`);
    const all = await client(server).get("/api/v1/tokens");
    for (const text of [JSON.stringify(one.body), JSON.stringify(all.body)]) {
      expect(text).not.toContain(created.token);
      expect(text).not.toContain('"hash"');
    }
    expect(one.body.id).toBe(created.id);
  });

  test("revoking over HTTP refuses the token at once and keeps the record", async () => {
    const server = await start();
    const { token, id } = await createToken(server);
    expect((await client(server, token).get("/data")).status).toBe(200);
    const revoked = await client(server).delete(`/api/v1/tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, status: "revoked", revoke_reason: "revoked" });
    expect((await client(server, token).get("/data")).status).toBe(401);
    expect((await client(server).get(`/api/v1/tokens/${id}`)).body.status).toBe("revoked");
    expect((await client(server).delete("/api/v1/tokens/tok_doesnotexist")).status).toBe(404);
  });

});

describe("who may use a token, and from where", () => {
  test("X-Forwarded-For counts only from a proxy in KEYWARD_TRUSTED_PROXIES", async () => {
    const trusting = await start({ env: { KEYWARD_TRUSTED_PROXIES: "127.0.0.1/32" } });
    const { token, id } = await createToken(trusting, { user: "kim", allowed_ips: ["10.0.0.0/8"] });
    const api = client(trusting, token);
    expect((await api.get("/data", { "x-forwarded-for": "10.1.2.3" })).status).toBe(200);
    expect((await api.get("/data", { "x-forwarded-for": "10.1.2.3, 192.168.9.9" })).status).toBe(403);
    expect((await api.get("/data", { "x-forwarded-for": "not-an-ip" })).status).toBe(403);
    await trusting.stop();

    const wary = await start({ cwd: trusting.cwd });
    expect((await client(wary, token).get("/data", { "x-forwarded-for": "10.1.2.3" })).status).toBe(403);
    expect((await client(wary).get(`/api/v1/tokens/${id}`)).body.last_ip).toBe("10.1.2.3");
  });

});

describe("tokens from the environment and the first admin", () => {
  test("API_TOKENS (seed 001): labels become users, and a label spelled like a role is that role; all are listed as env and cannot be revoked", async () => {
    const adminValue = "6a12a1f2250df9edcea50e7b00b30142f353749c1965960770a32ed2e61d3c64";
    const analystValue = "9b34c5e6a7d8f1e2b3c4a5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6";
    const server = await start({ env: { KEYWARD_ADMIN_TOKEN: "", API_TOKENS: `admin:${adminValue},analyst:${analystValue}` } });
    expect((await client(server, analystValue).get("/data")).body).toEqual({ message: "Hello analyst, here is your data!" });
    const list = await client(server, adminValue).get("/api/v1/tokens");
    expect(list.status).toBe(200);
    const envRows = list.body.filter((r: { source: string }) => r.source === "env");
    expect(envRows.map((r: { user: string; role: string }) => `${r.user}/${r.role}`).sort()).toEqual(["admin/admin", "analyst/analyst"]);
    const refused = await client(server, adminValue).delete(`/api/v1/tokens/${envRows[0].id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("env_token");
    expect(server.logs()).not.toContain("Keyward had no admin token");
  });

  test("with no admin token, the first start prints one once on stdout; it works; the second start prints none", async () => {
    const first = await start({ env: { KEYWARD_ADMIN_TOKEN: "" } });
    await until(() => /^ {4}kw_/m.test(first.logs()), "the printed admin token");
    const printed = first.logs().match(/^ {4}(kw_[0-9A-Za-z]{49})$/m)?.[1];
    expect(printed).toBeDefined();
    expect((await client(first, printed!).get("/api/v1/me")).body).toMatchObject({ user: "admin", role: "admin", source: "bootstrap" });
    await first.stop();
    const second = await start({ cwd: first.cwd, env: { KEYWARD_ADMIN_TOKEN: "" } });
    // Bootstrap runs before the server listens: once "listening" is logged, anything printed is out.
    await until(() => second.events().some((e) => e.msg === "listening"), "the listening line");
    expect(second.logs()).not.toContain("kw_");
    expect((await client(second, printed!).get("/api/v1/me")).status).toBe(200);
  });

  test("changing KEYWARD_ADMIN_TOKEN retires the old value", async () => {
    const first = await start({ env: { KEYWARD_ADMIN_TOKEN: "first-admin-value-1234567890" } });
    expect((await client(first, "first-admin-value-1234567890").get("/api/v1/tokens")).status).toBe(200);
    await first.stop();
    const second = await start({ cwd: first.cwd, env: { KEYWARD_ADMIN_TOKEN: "second-admin-value-1234567890" } });
    expect((await client(second, "first-admin-value-1234567890").get("/api/v1/tokens")).status).toBe(401);
    expect((await client(second, "second-admin-value-1234567890").get("/api/v1/tokens")).status).toBe(200);
  });
});

describe("usage, audit and secrecy", () => {
  test("usage counts, last use and last IP are kept, and survive a SIGTERM restart", async () => {
    const server = await start();
    const { token, id } = await createToken(server, { user: "lena" });
    for (let i = 0; i < 7; i++) expect((await client(server, token).get("/data")).status).toBe(200);
    const record = await client(server).get(`/api/v1/tokens/${id}`);
    expect(record.body).toMatchObject({ request_count: 7, last_ip: "127.0.0.1" });
    expect(Date.now() - Date.parse(record.body.last_used_at)).toBeLessThan(10_000);
    for (let i = 0; i < 3; i++) await client(server, token).get("/data");
    expect(await server.stop("SIGTERM")).toBe(0);
    const again = await start({ cwd: server.cwd });
    expect((await client(again).get(`/api/v1/tokens/${id}`)).body.request_count).toBe(10);
  });

  test("the audit log records creation, revocation and failures, with IPs and ids but never a secret", async () => {
    const server = await start();
    const { token, id } = await createToken(server, { user: "mia" });
    await client(server).delete(`/api/v1/tokens/${id}`);
    await client(server, token).get("/data");
    await client(server, "kw_0000000000000000000000000000000000000000000000000").get("/data");
    const audit = await client(server).get("/api/v1/audit?limit=10");
    expect(audit.status).toBe(200);
    const actions = audit.body.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 4)).toEqual(["auth.failed", "auth.failed", "token.revoked", "token.created"]);
    expect(audit.body[1]).toMatchObject({ user: "mia", token_id: id, ip: "127.0.0.1", detail: "token revoked" });
    expect(audit.body[0]).toMatchObject({ detail: "token malformed", token_id: null });
    expect(audit.body[3]).toMatchObject({ actor: "admin", user: "mia", token_id: id });
    expect(JSON.stringify(audit.body)).not.toContain(token);
    const filtered = await client(server).get("/api/v1/audit?user=mia&action=token.created");
    expect(filtered.body).toHaveLength(1);
    const first = await client(server).get("/api/v1/audit?limit=2");
    const page = await client(server).get(`/api/v1/audit?limit=2&cursor=${first.headers.get("x-next-cursor")}`);
    expect(page.body.map((e: { id: number }) => e.id)).toEqual(audit.body.slice(2, 4).map((e: { id: number }) => e.id));
  });

  test("each protected request is logged with its user, and no token reaches the log", async () => {
    const server = await start();
    const { token } = await createToken(server, { user: "nina" });
    await server.fetch(`/data?token=${token}`);
    await client(server, token).get("/data");
    await client(server, `${token}x`).get("/data");
    const lines = () => server.events().filter((e) => e.msg === "request" && e.path === "/data");
    await until(() => lines().length >= 3, "three request lines");
    expect(lines().map((e) => e.user)).toEqual(["nina", "nina", undefined]);
    expect(server.logs()).not.toContain(token);
    expect(server.logs()).not.toContain(ADMIN_TOKEN);
  });

  test("the database file holds no usable token", async () => {
    const server = await start();
    const created = await Promise.all([createToken(server, { user: "olga" }), createToken(server, { user: "pete" })]);
    await server.stop();
    const files = [server.db, `${server.db}-wal`].filter((f) => Bun.file(f).size > 0);
    const bytes = files.map((f) => readFileSync(f).toString("latin1")).join("");
    for (const { token } of created) {
      expect(bytes).not.toContain(token);
      expect(bytes).not.toContain(token.slice(3, 30));
    }
    expect(bytes).not.toContain(ADMIN_TOKEN);
    const db = new Database(server.db, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM tokens WHERE length(hash) = 64").get()).toEqual({ n: 3 });
    db.close();
  });
});

describe("the token CLI beside a running server", () => {
  test("create, list, show, revoke and rotate work on the server's database; a CLI revoke is refused within a second", async () => {
    const server = await start();
    const env = { KEYWARD_DB: server.db };
    const created = await runKeyward(["token", "create", "quinn", "--role", "viewer", "--expires", "2h", "--allow-ip", "127.0.0.1", "--json"], { env });
    expect(created.code).toBe(0);
    const issued = JSON.parse(created.stdout);
    expect(issued).toMatchObject({ user: "quinn", role: "viewer", source: "cli", allowed_ips: ["127.0.0.1/32"] });
    expect((await client(server, issued.token).get("/data")).status).toBe(200);

    const list = await runKeyward(["token", "list", "--user", "quinn"], { env });
    expect(list.stdout).toMatch(new RegExp(`${issued.id}\\s+quinn\\s+-\\s+viewer\\s+active`));
    expect(list.stdout).not.toContain(issued.token);
    const show = await runKeyward(["token", "show", issued.id, "--json"], { env });
    expect(JSON.parse(show.stdout)).toMatchObject({ id: issued.id, status: "active" });

    const revoked = await runKeyward(["token", "revoke", issued.id], { env });
    expect(revoked.code).toBe(0);
    await until(async () => (await client(server, issued.token).get("/data")).status === 401, "the server refuses the revoked token", 1_500);

    const other = JSON.parse((await runKeyward(["token", "create", "rita", "--json"], { env })).stdout);
    const rotated = await runKeyward(["token", "rotate", other.id, "--grace", "1h", "--json"], { env });
    const successor = JSON.parse(rotated.stdout);
    expect(successor.token).not.toBe(other.token);
    expect((await client(server, successor.token).get("/data")).status).toBe(200);
    expect((await client(server, other.token).get("/data")).status).toBe(200);

    const audit = await runKeyward(["audit", "--limit", "3", "--json"], { env });
    expect(JSON.parse(audit.stdout).map((e: { action: string }) => e.action)).toContain("token.rotated");
  });

  test.each([
    [["token", "show", "tok_missing"], 1, "No token with id tok_missing"],
    [["token", "create", "bad user"], 2, "A user name is"],
    [["token", "create", "sam", "--expires", "later"], 2, '--expires: "later" is not a duration'],
    [["token", "rotate"], 2, "missing argument <id>"],
    [["token", "revoke"], 2, "Give a token id, or --user USER"],
    [["audit", "--limit", "0"], 2, "--limit must be a whole number from 1 to 500"],
    [["token", "list", "--cursor", "nope"], 2, "That cursor was not given out by this list"],
  ])("%p fails with exit %i and a clear message", async (args, code, message) => {
    const result = await runKeyward(args);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
  });
});
