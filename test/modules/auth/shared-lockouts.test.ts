import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase, tablesOf, type SqliteStore, type Store } from "../../../src/db/client";
import { migrate } from "../../../src/db/migrate";
import { FailureLimiter } from "../../../src/lib/failure-limiter";
import { AuditQueue, listAudit } from "../../../src/modules/audit/service";
import { Lockout } from "../../../src/modules/auth/lockout";
import { SharedLockouts } from "../../../src/modules/auth/shared-lockouts";
import { ADMIN_TOKEN, client } from "../../helpers/api";
import { inProcessApp } from "../../helpers/app";
import { sqliteOnlyDescribe } from "../../helpers/engine";
import { tempDir } from "../../helpers/binary";
import { memoryLogger } from "../../helpers/memory-log";

// Two instances on one SQLite file (two servers, or a server and a CLI), each with its own
// in-memory counts, sharing the locks they take through auth_lockouts. The clocks are injected.

const MAX = 3;
const WINDOW = 60_000;
const opened: { stop(): Promise<void> }[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((shared) => shared.stop()));
  for (const store of stores.splice(0)) store.close();
});

function databaseFile(): string {
  const file = join(tempDir("keyward-lockouts-"), "keyward.db");
  const store = openDatabase(file);
  migrate(store);
  store.close();
  return file;
}

/** One instance: its own store on the file, limiters, audit queue and shared lockouts. */
function instance(file: string, clock: { now: number }, { maxRows = 10_000, store: wrap = (s: Store) => s } = {}) {
  const store = openDatabase(file);
  stores.push(store);
  const now = () => clock.now;
  const log = memoryLogger();
  const audit = new AuditQueue(store, { maxAgeMs: null, maxRows: 1_000_000 }, now);
  const shared = new SharedLockouts(wrap(store), log, now, maxRows);
  opened.push(shared);
  const lockout = new Lockout(new FailureLimiter(MAX, WINDOW), new FailureLimiter(MAX, WINDOW), audit, now, shared);
  const lock = (key: string) => {
    for (let i = 0; i < MAX; i++) lockout.count([key], { ip: "10.0.0.1" });
  };
  const round = () => shared.tick();
  const locked = async () => (await audit.flush(), (await listAudit(store.db, { limit: 100 })).items.filter((e) => e.action === "auth.locked").length);
  const rows = () => store.db.select().from(tablesOf(store.db).authLockouts).all();
  shared.follow(lockout, 3_600_000);
  return { store, shared, lockout, lock, round, locked, rows, log };
}

describe("lockouts shared through the database", () => {
  test("a key locked on A is refused on B after A's round and B's; only A audits it, and B does not write it back", async () => {
    const file = databaseFile();
    const clock = { now: 1_800_000_000_000 };
    const a = instance(file, clock);
    const b = instance(file, clock);
    a.lock("ip:10.0.0.1");
    expect(b.lockout.retryAfter(["ip:10.0.0.1"])).toBe(0);
    await a.round();
    clock.now += 100;
    await b.round();
    expect(b.lockout.retryAfter(["ip:10.0.0.1"])).toBe(WINDOW - 100);
    expect(b.lockout.retryAfter(["ip:10.0.0.2", "user:ann"])).toBe(0);
    const noted = a.rows()[0]!.notedAt;
    // B counts failures of its own on the key it installed: refused, neither reported nor noted again.
    b.lockout.count(["ip:10.0.0.1"], { ip: "10.0.0.1" });
    await b.round();
    // Both audit queues write to the one file: one row, A's.
    await b.locked();
    expect(await a.locked()).toBe(1);
    expect(b.rows()).toEqual([{ key: "ip:10.0.0.1", until: new Date(1_800_000_000_000 + WINDOW), notedAt: noted }]);
  });

  test("on the timers, B refuses within the round's interval", async () => {
    const file = databaseFile();
    const clock = {
      get now() {
        return Date.now();
      },
    };
    const a = instance(file, clock);
    const b = instance(file, clock);
    a.shared.follow(a.lockout, 50);
    b.shared.follow(b.lockout, 50);
    a.lock("user:bob");
    const begun = performance.now();
    while (b.lockout.retryAfter(["user:bob"]) === 0) {
      if (performance.now() - begun > 1000) throw new Error("B still accepts after a second");
      await Bun.sleep(5);
    }
    expect(performance.now() - begun).toBeLessThan(250);
  });

  test("a lock ends when it ended on A, and ended rows are pruned at the next write", async () => {
    const file = databaseFile();
    const clock = { now: 1_800_000_000_000 };
    const a = instance(file, clock);
    const b = instance(file, clock);
    a.lock("ip:10.0.0.1");
    await a.round();
    await b.round();
    clock.now += WINDOW - 1;
    expect(b.lockout.retryAfter(["ip:10.0.0.1"])).toBe(1);
    clock.now += 1;
    expect(b.lockout.retryAfter(["ip:10.0.0.1"])).toBe(0);
    // An instance that starts late installs nothing that has ended.
    const late = instance(file, clock);
    await late.round();
    expect(late.lockout.retryAfter(["ip:10.0.0.1"])).toBe(0);
    clock.now += 1;
    a.lock("ip:10.0.0.2");
    await a.round();
    expect(a.rows().map((row) => row.key)).toEqual(["ip:10.0.0.2"]);
  });

  test("when both lock one key, the later end wins on both", async () => {
    const file = databaseFile();
    const clock = { now: 1_800_000_000_000 };
    const a = instance(file, clock);
    const b = instance(file, clock);
    a.lock("user:ann");
    clock.now += 5_000;
    b.lock("user:ann");
    await b.round();
    await a.round();
    await b.round();
    expect(a.rows().map((row) => row.until.getTime())).toEqual([1_800_000_005_000 + WINDOW]);
    expect([a.lockout.retryAfter(["user:ann"]), b.lockout.retryAfter(["user:ann"])]).toEqual([WINDOW, WINDOW]);
  });

  test("a writer whose clock is behind is still loaded: noted_at grows in commit order, not by the writers' clocks", async () => {
    const file = databaseFile();
    const ahead = { now: 1_800_000_600_000 };
    const behind = { now: 1_800_000_000_000 };
    const a = instance(file, ahead);
    const b = instance(file, behind);
    const reader = instance(file, ahead);
    a.lock("ip:10.0.0.1");
    await a.round();
    await reader.round();
    expect(reader.lockout.retryAfter(["ip:10.0.0.1"])).toBe(WINDOW);
    b.lock("ip:10.0.0.2");
    await b.round();
    expect(b.rows().find((row) => row.key === "ip:10.0.0.2")!.notedAt.getTime()).toBe(1_800_000_600_001);
    // B's lock ends by B's clock, ten minutes behind, so by the reader's it has ended: what counts is that it is read.
    const seen: string[] = [];
    await reader.shared.load({ install: (key) => void seen.push(key) });
    expect(seen).toEqual(["ip:10.0.0.2"]);
  });

  test("the table is bounded: past its rows, those ending soonest go, never the newest write's", async () => {
    const file = databaseFile();
    const clock = { now: 1_800_000_000_000 };
    const a = instance(file, clock, { maxRows: 5 });
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 3; i++) a.lock(`ip:10.0.${round}.${i}`);
      await a.round();
      clock.now += 1000;
    }
    const keys = a.rows().map((row) => row.key);
    expect(keys.length).toBe(5 + 3);
    expect(keys.sort()).toEqual(["ip:10.0.3.1", "ip:10.0.3.2", "ip:10.0.4.0", "ip:10.0.4.1", "ip:10.0.4.2", "ip:10.0.5.0", "ip:10.0.5.1", "ip:10.0.5.2"]);
  });

  test("a database failure neither throws nor loses a lock: logged once, retried each round, shared once it is back", async () => {
    const file = databaseFile();
    const clock = { now: 1_800_000_000_000 };
    let down = false;
    const failing = (store: Store): Store => ({
      ...store,
      get db() {
        if (down) throw new Error("database unreachable");
        return store.db;
      },
      bookkeeping: (work) => (down ? Promise.reject(new Error("database unreachable")) : store.bookkeeping(work)),
    });
    const a = instance(file, clock, { store: failing });
    const b = instance(file, clock, { store: failing });
    down = true;
    a.lock("ip:10.0.0.1");
    for (let i = 0; i < 3; i++) await Promise.all([a.round(), b.round()]);
    const errors = (log: typeof a.log) => log.lines.filter((line) => line.level === "error").length;
    expect([errors(a.log), errors(b.log)]).toEqual([1, 1]);
    expect(String(a.log.lines.at(-1)!.error)).toContain("database unreachable");
    down = false;
    await a.round();
    await b.round();
    expect(b.lockout.retryAfter(["ip:10.0.0.1"])).toBe(WINDOW);
    expect(b.log.lines.at(-1)!.msg).toBe("sharing lockouts with the other instances again");
  });

  test("rounds never overlap, and stopping waits for the one under way", async () => {
    const file = databaseFile();
    const clock = { now: 1_800_000_000_000 };
    const a = instance(file, clock);
    const first = a.round();
    expect(a.round()).toBe(first);
    await a.shared.stop();
    expect(await Promise.race([first.then(() => "done"), Bun.sleep(0).then(() => "pending")])).toBe("done");
  });
});

sqliteOnlyDescribe("a SQLite file; PostgreSQL's two instances are in test/tools/postgres-lockouts.tools.ts")("two apps on one database file", () => {
  const twoApps = async () => {
    const file = databaseFile();
    const env = { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1", KEYWARD_MAX_FAILURES: "3" };
    const apps = [await inProcessApp(env, {}, { db: file }), await inProcessApp(env, {}, { db: file })] as const;
    for (const app of apps) opened.push({ stop: async () => (await app.stop(), app.store.close()) });
    return apps;
  };
  const from = (ip: string, headers: Record<string, string> = {}) => ({ headers: { ...headers, "x-forwarded-for": ip } });
  const login = (username: string, password: string, ip: string): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip },
    body: new URLSearchParams({ username, password }).toString(),
  });

  /** Polls until `ask` answers 429; the milliseconds it took, and the Retry-After it gave. */
  async function refusedWithin(ask: () => Promise<Response>, limitMs: number): Promise<{ took: number; retryAfter: number }> {
    const begun = performance.now();
    for (;;) {
      const res = await ask();
      const took = performance.now() - begun;
      if (res.status === 429) return { took, retryAfter: Number(res.headers.get("retry-after")) };
      if (took > limitMs) throw new Error(`still ${res.status} after ${Math.round(took)} ms`);
      await Bun.sleep(10);
    }
  }

  test("bad tokens that lock an address on A get it 429 on B within a second; other addresses pass", async () => {
    const [a, b] = await twoApps();
    for (let i = 0; i < 3; i++) expect((await a.fetch("/data", from("10.9.0.1", { authorization: `Bearer guess-${i}` }))).status).toBe(401);
    expect((await a.fetch("/data", from("10.9.0.1", { authorization: "Bearer guess-3" }))).status).toBe(429);
    const { took, retryAfter } = await refusedWithin(() => b.fetch("/data", from("10.9.0.1", { authorization: "Bearer guess-4" })), 1000);
    console.log(`locked on A, refused on B after ${took.toFixed(0)} ms`);
    expect(retryAfter).toBeGreaterThan(55);
    expect((await b.fetch("/data", from("10.9.0.2", { authorization: "Bearer guess-5" }))).status).toBe(401);
  });

  test("password guesses that lock a name on A lock it on B, whatever the address", async () => {
    const [a, b] = await twoApps();
    expect((await client(a).post("/api/v1/users", { username: "olga", password: "correct horse battery" })).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await a.fetch("/login", login("olga", `guess ${i}`, `10.8.${i}.1`))).status).toBe(401);
    await refusedWithin(() => b.fetch("/login", login("OLGA", "correct horse battery", "10.8.9.1")), 1000);
  });
});
