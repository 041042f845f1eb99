import { SQL } from "bun";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ADMIN_TOKEN, client, formPost } from "../helpers/api";
import { runKeyward, tempDir } from "../helpers/binary";
import { createDatabase, hasPostgres, throwawayCluster, twoInstances } from "../helpers/postgres";
import { serverPool, type RunningServer } from "../helpers/server";

// Several instances of the compiled binary on one PostgreSQL: what issue 16 promises, end to end.
setDefaultTimeout(60_000);

const SECRET_KEY = "cluster-secret-key-0123456789abcdef";
const env = { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY };
const start = serverPool({ env });

const cluster = throwawayCluster();

const pair = () => twoInstances(start, cluster.pg);

const dataWith = (server: RunningServer, token: string) => server.fetch("/data", { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

/** Polls until `server` refuses `token`; the milliseconds it took. Fails past `limitMs`. */
async function refusedWithin(server: RunningServer, token: string, limitMs: number): Promise<number> {
  const begun = performance.now();
  for (;;) {
    const status = await dataWith(server, token);
    const took = performance.now() - begun;
    if (status === 401 || status === 403) return took;
    if (took > limitMs) throw new Error(`still ${status} after ${Math.round(took)} ms`);
    await Bun.sleep(20);
  }
}

async function issue(server: RunningServer, body: Record<string, unknown> = { user: "ann" }): Promise<{ token: string; id: string }> {
  const res = await client(server).post("/api/v1/tokens", body);
  expect(res.status).toBe(201);
  return res.body;
}

const keyward = (db: string, ...args: string[]) => runKeyward(args, { cwd: tempDir(), env: { KEYWARD_DB: db, SECRET_KEY } });

describe.skipIf(!hasPostgres)("instances sharing one PostgreSQL", () => {
  test("a token made on A works on B at once; revoked on B, A refuses it within a second", async () => {
    const { a, b } = await pair();
    const { token, id } = await issue(a);
    expect(await dataWith(b, token)).toBe(200);
    expect(await dataWith(a, token)).toBe(200);
    expect((await client(b).delete(`/api/v1/tokens/${id}`)).status).toBe(200);
    const took = await refusedWithin(a, token, 1000);
    console.log(`revoked on B, refused on A after ${took.toFixed(0)} ms`);
  });

  test("a user disabled on one instance is refused on the other within a second; so is a token rotated away", async () => {
    const { a, b } = await pair();
    expect((await client(a).post("/api/v1/users", { username: "bob", password: "correct horse battery" })).status).toBe(201);
    const { token } = await issue(a, { user: "bob" });
    expect(await dataWith(b, token)).toBe(200);
    const disabled = await b.fetch("/api/v1/users/bob", { method: "PATCH", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ disabled: true }) });
    expect(disabled.status).toBe(200);
    await refusedWithin(a, token, 1000);

    const other = await issue(b);
    expect(await dataWith(a, other.token)).toBe(200);
    const rotated = await client(a).post(`/api/v1/tokens/${other.id}/rotate`, { grace: "0s" });
    expect(rotated.status).toBe(201);
    await refusedWithin(b, other.token, 1000);
    expect(await dataWith(b, rotated.body.token)).toBe(200);
  });

  test("a device enrolled on A verifies on B (one signing key, sealed in the database)", async () => {
    const { db, a, b } = await pair();
    const enrolled = await client(a, "").post("/api/v1/tokens/main", { hardware_fingerprint: "fp-cluster" });
    expect(enrolled.status).toBe(201);
    const verify = await b.fetch(`/api/v1/tokens/verify?short_token=${enrolled.body.short_token}&hardware_fingerprint=fp-cluster`);
    expect(verify.status).toBe(200);
    const sql = new SQL(db);
    const [row] = await sql`SELECT value FROM settings WHERE key = 'device_signing_key'`;
    await sql.close();
    expect(row.value).toStartWith("enc:v1:");
  });

  test("uses on both instances add up in the token's count", async () => {
    const { a, b } = await pair();
    const { token, id } = await issue(a);
    await Promise.all([...Array.from({ length: 50 }, () => dataWith(a, token)), ...Array.from({ length: 50 }, () => dataWith(b, token))]);
    const counted = async () => (await client(a).get(`/api/v1/tokens/${id}`)).body.request_count;
    const begun = performance.now();
    while ((await counted()) < 100 && performance.now() - begun < 5000) await Bun.sleep(100);
    expect(await counted()).toBe(100);
  });

  test("the CLI works on the shared database: what it makes and revokes, every instance sees within a second", async () => {
    const { db, a, b } = await pair();
    const made = await keyward(db, "token", "create", "cli-user", "--json");
    expect(made.code).toBe(0);
    const { token, id } = JSON.parse(made.stdout);
    expect(await dataWith(a, token)).toBe(200);
    expect(await dataWith(b, token)).toBe(200);
    expect((await keyward(db, "token", "revoke", id)).code).toBe(0);
    await Promise.all([refusedWithin(a, token, 1000), refusedWithin(b, token, 1000)]);
    const migrate = await keyward(db, "migrate");
    expect(migrate.stdout).toContain("already up to date");
    expect(migrate.stdout).not.toContain(cluster.pg.password);
  });

  test("user, device, audit and session commands of the CLI on the shared database act on the running instances", async () => {
    const { db, a, b } = await pair();
    expect((await client(a).post("/api/v1/users", { username: "carol", password: "correct horse battery" })).status).toBe(201);
    const { token } = await issue(b, { user: "carol" });
    expect(JSON.parse((await keyward(db, "user", "list", "--json")).stdout).map((u: { username: string }) => u.username)).toContain("carol");
    expect((await keyward(db, "user", "disable", "carol")).code).toBe(0);
    await Promise.all([refusedWithin(a, token, 1000), refusedWithin(b, token, 1000)]);

    const enrolled = await client(a, "").post("/api/v1/tokens/main", { hardware_fingerprint: "fp-cli" });
    const devices = JSON.parse((await keyward(db, "device", "list", "--json")).stdout) as { id: string }[];
    expect(devices).toHaveLength(1);
    expect((await keyward(db, "device", "revoke", devices[0]!.id)).code).toBe(0);
    const verify = () => b.fetch(`/api/v1/tokens/verify?short_token=${enrolled.body.short_token}&hardware_fingerprint=fp-cli`).then((r) => r.status);
    const begun = performance.now();
    while ((await verify()) === 200 && performance.now() - begun < 1000) await Bun.sleep(20);
    expect(await verify()).toBe(401);

    const audit = await keyward(db, "audit", "--json");
    const actions = (JSON.parse(audit.stdout) as { action: string }[]).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.created", "user.updated", "device.enrolled", "device.revoked"]));
    expect((await keyward(db, "session", "list", "--json")).code).toBe(0);
  });

  test("a browser session opened on A opens B's forward auth; ended on B (sign-out or an admin), A refuses it within a second", async () => {
    const db = await createDatabase(cluster.pg);
    const portal = { KEYWARD_PUBLIC_URL: "http://auth.keyward.test" };
    const a = await start({ db, env: portal });
    const b = await start({ db, env: portal });
    expect((await client(a).post("/api/v1/users", { username: "dana", password: "correct horse battery" })).status).toBe(201);
    const signIn = async (server: RunningServer) => {
      const res = await server.fetch("/signin", { ...formPost({ username: "dana", password: "correct horse battery" }, { origin: portal.KEYWARD_PUBLIC_URL }), redirect: "manual" });
      expect(res.status).toBe(303);
      return /^keyward_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")![1]!;
    };
    const forward = (server: RunningServer, cookie: string) => server.fetch("/auth/forward", { headers: { cookie: `keyward_session=${cookie}` } }).then((r) => r.status);
    const endedWithin = async (server: RunningServer, cookie: string) => {
      const begun = performance.now();
      while ((await forward(server, cookie)) === 200 && performance.now() - begun < 1000) await Bun.sleep(20);
      return forward(server, cookie);
    };

    const first = await signIn(a);
    expect(await forward(b, first)).toBe(200);
    const [open] = (await client(b).get("/api/v1/sessions?user=dana")).body as { id: string }[];
    expect((await client(b).delete(`/api/v1/sessions/${open!.id}`)).status).toBe(204);
    expect(await endedWithin(a, first)).toBe(401);

    const second = await signIn(b);
    expect(await forward(a, second)).toBe(200);
    const out = await b.fetch("/signout", { method: "POST", headers: { cookie: `keyward_session=${second}`, origin: portal.KEYWARD_PUBLIC_URL }, redirect: "manual" });
    expect(out.status).toBe(303);
    expect(await endedWithin(a, second)).toBe(401);
  });

  test("an instance started later migrates nothing; instances starting together migrate once", async () => {
    const { db, a, b } = await pair();
    const migrated = (server: RunningServer) => server.events().filter((e) => e.msg === "database migrated").length;
    expect(migrated(a)).toBe(1);
    expect(migrated(b)).toBe(0);
    const c = await start({ db });
    expect(migrated(c)).toBe(0);

    const fresh = await createDatabase(cluster.pg);
    const together = await Promise.all([start({ db: fresh }), start({ db: fresh }), start({ db: fresh })]);
    expect(together.map(migrated).sort()).toEqual([0, 0, 1]);
    expect(together.flatMap((s) => s.events()).some((e) => JSON.stringify(e).includes(cluster.pg.password))).toBe(false);
  });
});
