import { SQL } from "bun";
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import bundle from "../../src/db/migrations-postgres/migrations.js";
import { PgChangeMonitor, type PgChangeMonitorOptions } from "../../src/db/postgres-changes";
import { hasPostgres, startPostgres, type Postgres } from "../helpers/postgres";
import { until } from "../helpers/until";

// initdb, a crash and a restart take a few seconds, more on a busy machine.
setDefaultTimeout(60_000);

const POLL_MS = 250;
const STALE_MS = 750;
/** Polling off, and never stale: whatever moves such a monitor is a NOTIFY or a re-LISTEN. */
const LISTEN_ONLY = { pollMs: 3_600_000, staleMs: 3_600_000 };

let pg: Postgres;
let writer: SQL;
const opened: { monitor: PgChangeMonitor; sql: SQL }[] = [];
let unhandled = 0;
const countUnhandled = () => void unhandled++;

/** The PostgreSQL migrations in order, as the binary will embed them (the real migrator is the store's). */
async function migrate(sql: SQL): Promise<void> {
  const byKey: Record<string, string | undefined> = bundle.migrations;
  for (const entry of bundle.journal.entries) {
    const text = byKey[`m${String(entry.idx).padStart(4, "0")}`] ?? "";
    for (const statement of text.split("--> statement-breakpoint")) if (statement.trim() !== "") await sql.unsafe(statement);
  }
}

/** A started monitor on a pool of its own (as Keyward's would be), closed after the test. */
async function monitorOn(url: string, options: PgChangeMonitorOptions = {}, max = 10) {
  const sql = new SQL({ url, max });
  const monitor = new PgChangeMonitor(sql, options);
  opened.push({ monitor, sql });
  await monitor.start();
  return { monitor, sql };
}

/** Milliseconds until `ready()` holds, checked every millisecond; fails past `timeoutMs`. */
async function msUntil(ready: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await ready())) {
    if (performance.now() - started > timeoutMs) throw new Error(`still waiting after ${timeoutMs} ms: ${what}`);
    await Bun.sleep(1);
  }
  return performance.now() - started;
}

/** Whether the monitor trusts nothing right now: two calls in a row give two generations. */
const failingClosed = (monitor: PgChangeMonitor) => monitor.current() !== monitor.current();
const change = () => writer`UPDATE tokens SET revoked_at = now()`;
const listenerPids = async (user: string) =>
  (await writer`SELECT pid FROM pg_stat_activity WHERE usename = ${user} AND query LIKE 'LISTEN%'`).map((r: { pid: number }) => r.pid);
const ms = (n: number) => n.toFixed(1);

beforeAll(async () => {
  if (!hasPostgres) return;
  process.on("unhandledRejection", countUnhandled);
  pg = await startPostgres();
  writer = new SQL(pg.url);
  await migrate(writer);
});
afterEach(async () => {
  for (const { monitor, sql } of opened.splice(0)) {
    await monitor.close();
    await sql.close({ timeout: 0 });
  }
  expect(unhandled).toBe(0);
});
afterAll(async () => {
  process.off("unhandledRejection", countUnhandled);
  await writer?.close({ timeout: 0 });
  await pg?.stop();
});

describe.skipIf(!hasPostgres)("the PostgreSQL change monitor on a real PostgreSQL", () => {
  test("a change committed by another connection is heard through NOTIFY in under 100 ms, with polling off", async () => {
    const { monitor } = await monitorOn(pg.url, LISTEN_ONLY);
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = monitor.current();
      const sent = performance.now();
      await change();
      await msUntil(() => monitor.current() !== before, "the NOTIFY", 1_000);
      latencies.push(performance.now() - sent);
      expect(monitor.current()).toBe(before + 1);
    }
    latencies.sort((a, b) => a - b);
    console.log(`NOTIFY, UPDATE sent → generation moved (20 runs): median ${ms(latencies[10]!)} ms, max ${ms(latencies[19]!)} ms`);
    expect(latencies[19]!).toBeLessThan(100);
  });

  test("with the LISTEN connection killed and unable to come back, polling alone sees a change within 1 s", async () => {
    await writer.unsafe("CREATE ROLE watcher LOGIN PASSWORD 'watcher'; GRANT SELECT ON keyward_state TO watcher");
    const url = pg.url.replace(/\/\/[^@]+@/, "//watcher:watcher@");
    // One pooled connection, already open: it outlives the NOLOGIN below, the listener's reconnects do not.
    const { monitor } = await monitorOn(url, { pollMs: POLL_MS, staleMs: STALE_MS }, 1);
    await writer`ALTER ROLE watcher NOLOGIN`;
    const [listener] = await listenerPids("watcher");
    await writer`SELECT pg_terminate_backend(${listener!})`;
    await until(async () => (await listenerPids("watcher")).length === 0, "the listener gone");

    const before = monitor.current();
    const sent = performance.now();
    await change();
    await msUntil(() => monitor.current() !== before, "the poll", 1_000);
    const seenMs = performance.now() - sent;
    expect(await listenerPids("watcher")).toEqual([]);
    expect(monitor.healthy()).toBe(true);

    await writer`ALTER ROLE watcher LOGIN`;
    const moved = monitor.current();
    const relistenMs = await msUntil(() => monitor.current() > moved, "the re-LISTEN", 40_000);
    expect(await listenerPids("watcher")).toHaveLength(1);
    console.log(`listener killed: change seen by polling in ${ms(seenMs)} ms; LISTEN back ${ms(relistenMs)} ms after logins were allowed again`);
    expect(seenMs).toBeLessThan(1_000);
  });

  test("a bookkeeping transaction (keyward.bookkeeping = 'on') moves nothing; the same write without it does", async () => {
    const { monitor, sql } = await monitorOn(pg.url, { pollMs: POLL_MS, staleMs: STALE_MS });
    // A second registration shares the monitor's LISTEN connection: once it hears the marker, the monitor has heard all before it.
    const heard: string[] = [];
    const marker = await sql.listen("keyward_changes", (payload) => heard.push(payload));
    const before = monitor.current();
    await writer.begin(async (tx) => {
      await tx`SET LOCAL keyward.bookkeeping = 'on'`;
      await tx`UPDATE tokens SET last_used_at = now()`;
      await tx`DELETE FROM sessions`;
    });
    await writer.notify("keyward_changes", "0");
    await until(() => heard.includes("0"), "the marker notification");
    await until(() => monitor.poll(), "a poll sent after the commit");
    expect(monitor.current()).toBe(before);
    expect(heard).toEqual(["0"]);

    await writer`UPDATE tokens SET last_used_at = now()`;
    await until(() => monitor.current() !== before, "the real change");
    await marker.unlisten();
  });

  test("a poll stuck behind a lock fails closed after staleMs, is cancelled rather than piled up, and caching resumes after", async () => {
    const { monitor } = await monitorOn(pg.url, { pollMs: POLL_MS, staleMs: STALE_MS });
    const release = Promise.withResolvers<void>();
    const locked = Promise.withResolvers<void>();
    const holder = writer.begin(async (tx) => {
      await tx`LOCK TABLE keyward_state IN ACCESS EXCLUSIVE MODE`;
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    const failClosedMs = await msUntil(() => failingClosed(monitor), "failing closed", 5_000);
    let mostWaiting = 0;
    const deadline = performance.now() + 2 * STALE_MS;
    while (performance.now() < deadline) {
      const [row] = await writer`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT version FROM keyward_state%' AND wait_event_type = 'Lock'`;
      mostWaiting = Math.max(mostWaiting, row.n);
      expect(failingClosed(monitor)).toBe(true);
      await Bun.sleep(20);
    }
    release.resolve();
    await holder;
    const resumedMs = await msUntil(() => monitor.healthy() && !failingClosed(monitor), "caching again", 5_000);
    console.log(`poll stuck behind a lock: failing closed after ${ms(failClosedMs)} ms; at most ${mostWaiting} poll(s) waiting at once; confirmed ${ms(resumedMs)} ms after the lock went`);
    expect(failClosedMs).toBeLessThanOrEqual(STALE_MS + POLL_MS);
    expect(mostWaiting).toBeLessThanOrEqual(2);
    expect(resumedMs).toBeLessThan(2 * POLL_MS);
  });

  test("PostgreSQL crashes: within staleMs + pollMs nothing is trusted; restarted, caching resumes and NOTIFY is heard again", async () => {
    const { monitor } = await monitorOn(pg.url, { pollMs: POLL_MS, staleMs: STALE_MS });
    const { monitor: listener } = await monitorOn(pg.url, LISTEN_ONLY);
    expect(failingClosed(monitor)).toBe(false);

    await pg.crash();
    const failClosedMs = await msUntil(() => failingClosed(monitor), "failing closed", 5_000);
    expect(monitor.healthy()).toBe(false);
    const generations = new Set<number>();
    for (let i = 0; i < 20; i++) {
      generations.add(monitor.current());
      generations.add(monitor.current());
      await Bun.sleep(25);
    }
    expect(generations.size).toBe(40);
    // A monitor cannot start without the database: its first read must succeed.
    await expect(monitorOn(pg.url)).rejects.toThrow();

    const beforeRestart = listener.current();
    await pg.restart();
    const restarted = performance.now();
    const resumedMs = await msUntil(() => monitor.healthy() && !failingClosed(monitor), "caching again", 5_000);
    await msUntil(() => listener.current() !== beforeRestart, "the re-LISTEN", 40_000);
    const relistenMs = performance.now() - restarted;
    const before = listener.current();
    const sent = performance.now();
    await change();
    await msUntil(() => listener.current() !== before, "the NOTIFY after the restart", 1_000);
    const notifyMs = performance.now() - sent;
    console.log(
      `crash: failing closed ${ms(failClosedMs)} ms after pg_ctl stop -m immediate returned; restart → caching ${ms(resumedMs)} ms, ` +
        `re-LISTEN ${ms(relistenMs)} ms, then NOTIFY heard in ${ms(notifyMs)} ms`,
    );
    expect(failClosedMs).toBeLessThanOrEqual(STALE_MS + POLL_MS);
    expect(resumedMs).toBeLessThan(2_000);
    expect(notifyMs).toBeLessThan(100);
  });
});
