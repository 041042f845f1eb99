import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { tablesOf } from "../../src/db/client";
import { openStore } from "../../src/db/open";
import type { PostgresStore } from "../../src/db/postgres-client";
import { FailureLimiter } from "../../src/lib/failure-limiter";
import { AuditQueue } from "../../src/modules/audit/service";
import { Lockout } from "../../src/modules/auth/lockout";
import { SharedLockouts } from "../../src/modules/auth/shared-lockouts";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { memoryLogger } from "../helpers/memory-log";
import { changeVersion, createDatabase, hasPostgres, throwawayCluster } from "../helpers/postgres";
import { serverPool, type RunningServer } from "../helpers/server";

// Lockouts shared by instances on one PostgreSQL (issue 16, step 11): in-process stores, then the binary.
setDefaultTimeout(60_000);

const MAX = 3;
const WINDOW = 60_000;
const SECRET_KEY = "lockout-secret-key-0123456789abcdef";
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY, KEYWARD_MAX_FAILURES: String(MAX) } });

const cluster = throwawayCluster();

/** One instance in this process: its own store (pool) on the database, limiters and shared lockouts, on `clock`. */
async function instance(url: string, clock: { now: number }, maxRows = 10_000) {
  const { store } = await openStore(url);
  const now = () => clock.now;
  const log = memoryLogger();
  const shared = new SharedLockouts(store, log, now, maxRows);
  cluster.closeAfter({ close: async () => (await shared.stop(), await store.close()) });
  const audit = new AuditQueue(store, { maxAgeMs: null, maxRows: 1_000_000 }, now);
  const lockout = new Lockout(new FailureLimiter(MAX, WINDOW), new FailureLimiter(MAX, WINDOW), audit, now, shared);
  shared.follow(lockout, 3_600_000);
  const lock = (key: string) => {
    for (let i = 0; i < MAX; i++) lockout.count([key], { ip: "10.0.0.1" });
  };
  const rows = async () => {
    const { authLockouts } = tablesOf(store.db);
    return store.db.select().from(authLockouts).orderBy(authLockouts.key);
  };
  return { store: store as PostgresStore, shared, lockout, lock, rows, log, round: () => shared.tick() };
}


describe.skipIf(!hasPostgres)("lockouts shared on PostgreSQL, in process", () => {
  test("a key locked on A is refused on B after a round of each; the change signal stays quiet", async () => {
    const url = await createDatabase(cluster.pg);
    const clock = { now: 1_800_000_000_000 };
    const a = await instance(url, clock);
    const b = await instance(url, clock);
    const version = await changeVersion(url);
    a.lock("ip:127.0.0.1");
    a.lock("user:ann");
    await a.round();
    clock.now += 100;
    await b.round();
    expect(b.lockout.retryAfter(["ip:127.0.0.1"])).toBe(WINDOW - 100);
    expect(b.lockout.retryAfter(["user:ann"])).toBe(WINDOW - 100);
    expect(b.lockout.retryAfter(["ip:127.0.0.2"])).toBe(0);
    expect(await changeVersion(url)).toBe(version);
    // The end round-trips a timestamptz(3) to the millisecond.
    expect((await b.rows()).map((row) => [row.key, row.until.getTime()])).toEqual([
      ["ip:127.0.0.1", 1_800_000_000_000 + WINDOW],
      ["user:ann", 1_800_000_000_000 + WINDOW],
    ]);
  });

  test("the later end wins; a writer whose clock is behind still writes past the newest row, and is loaded", async () => {
    const url = await createDatabase(cluster.pg);
    const ahead = { now: 1_800_000_600_000 };
    const behind = { now: 1_800_000_000_000 };
    const a = await instance(url, ahead);
    const b = await instance(url, behind);
    a.lock("user:ann");
    await a.round();
    await b.round();
    b.lock("user:bob");
    b.shared.note("user:ann", 1_800_000_000_000 + WINDOW);
    await b.round();
    const rows = await a.rows();
    expect(rows.map((row) => [row.key, row.until.getTime(), row.notedAt.getTime()])).toEqual([
      ["user:ann", 1_800_000_600_000 + WINDOW, 1_800_000_600_001],
      ["user:bob", 1_800_000_000_000 + WINDOW, 1_800_000_600_001],
    ]);
    const seen: string[] = [];
    await a.shared.load({ install: (key) => void seen.push(key) });
    expect(seen.sort()).toEqual(["user:ann", "user:bob"]);
  });

  test("the table stays bounded, and ended rows are pruned", async () => {
    const url = await createDatabase(cluster.pg);
    const clock = { now: 1_800_000_000_000 };
    const a = await instance(url, clock, 4);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2; i++) a.lock(`ip:10.0.${round}.${i}`);
      await a.round();
      clock.now += 1000;
    }
    expect((await a.rows()).map((row) => row.key)).toEqual(["ip:10.0.2.0", "ip:10.0.2.1", "ip:10.0.3.0", "ip:10.0.3.1", "ip:10.0.4.0", "ip:10.0.4.1"]);
    clock.now += WINDOW;
    a.lock("ip:10.0.9.9");
    await a.round();
    expect((await a.rows()).map((row) => row.key)).toEqual(["ip:10.0.9.9"]);
  });

  test("a round on a closed pool throws nothing: logged once, the lock kept for later", async () => {
    const url = await createDatabase(cluster.pg);
    const clock = { now: 1_800_000_000_000 };
    const a = await instance(url, clock);
    await a.store.sql.close();
    a.lock("ip:10.0.0.1");
    await a.round();
    await a.round();
    expect(a.log.lines.filter((line) => line.level === "error")).toHaveLength(1);
    expect(a.lockout.retryAfter(["ip:10.0.0.1"])).toBe(WINDOW);
  });
});

const badToken = (server: RunningServer, i: number) => server.fetch("/data", { headers: { authorization: `Bearer not-a-token-${i}` } });

/**
 * Polls every 20 ms until `server` answers a bad token 429; the milliseconds it took and its
 * Retry-After. The server polled allows so many failures that only another instance's lock can do it.
 */
async function lockedWithin(server: RunningServer, limitMs: number): Promise<{ took: number; retryAfter: number }> {
  const begun = performance.now();
  for (let i = 0; ; i++) {
    const res = await badToken(server, 1000 + i);
    const took = performance.now() - begun;
    if (res.status === 429) return { took, retryAfter: Number(res.headers.get("retry-after")) };
    if (took > limitMs) throw new Error(`still ${res.status} after ${Math.round(took)} ms`);
    await Bun.sleep(20);
  }
}

/** An instance that would never lock an address itself within these tests. */
const lenient = { KEYWARD_MAX_FAILURES: "1000" };

describe.skipIf(!hasPostgres)("lockouts shared by two instances of the binary", () => {
  test("bad tokens lock 127.0.0.1 on A; B (and C, started later) answer 429 with Retry-After within a second; only A audits it", async () => {
    const db = await createDatabase(cluster.pg);
    const a = await start({ db });
    const b = await start({ db, env: lenient });
    // A Keyward admin token: from a locked address, the environment's admin token is refused unchecked like any guessable secret.
    const issued = await client(a).post("/api/v1/tokens", { user: "ops", role: "admin" });
    expect(issued.status).toBe(201);
    for (let i = 0; i < MAX; i++) expect((await badToken(a, i)).status).toBe(401);
    const locked = await badToken(a, MAX);
    expect(locked.status).toBe(429);
    const { took, retryAfter } = await lockedWithin(b, 1000);
    console.log(`locked on A, refused on B after ${took.toFixed(0)} ms`);
    expect(took).toBeLessThan(1000);
    expect(retryAfter).toBeGreaterThan(55);
    // A good Keyward token still passes on B: the lock guards guesses, not credentials.
    expect((await b.fetch("/data", { headers: { authorization: `Bearer ${issued.body.token}` } })).status).toBe(200);

    // An instance started later learns the live locks at its first round.
    const c = await start({ db, env: lenient });
    expect((await lockedWithin(c, 1000)).took).toBeLessThan(1000);
    const audited = async () => (await client(b, issued.body.token).get("/api/v1/audit?action=auth.locked")).body;
    const begun = performance.now();
    while ((await audited()).length === 0 && performance.now() - begun < 5000) await Bun.sleep(100);
    await Bun.sleep(1200);
    expect((await audited()).map((e: { detail: string }) => e.detail)).toEqual(["ip:127.0.0.1 locked out"]);
  });
});
