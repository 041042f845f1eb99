import { describe, expect, test } from "bun:test";
import { asc } from "drizzle-orm";
import { tablesOf } from "../../../src/db/client";
import { OVERFLOW_SERIES, UsageSeries } from "../../../src/modules/usage/series";
import { memoryStore } from "../../helpers/database";
import { memoryLogger } from "../../helpers/memory-log";

// The in-memory recorder on its own: minutes kept apart, roll-up into 1m/1h/1d, capacity, a failed
// write kept, pruning by resolution. The clock is a variable the test sets.
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const keep = { "1m": day, "1h": 90 * day, "1d": 730 * day };
/** A Monday at 10:59:30 UTC: thirty seconds before a minute's and an hour's end. */
const t0 = Date.UTC(2026, 0, 5, 10, 59, 30);

function setup(capacity?: number) {
  const store = memoryStore();
  const log = memoryLogger();
  let now = t0;
  const series = new UsageSeries(store, log, keep, () => now, undefined, capacity);
  const rows = () => {
    const { usageBuckets } = tablesOf(store.db);
    return store.db
      .select()
      .from(usageBuckets)
      .orderBy(asc(usageBuckets.resolution), asc(usageBuckets.start), asc(usageBuckets.series), asc(usageBuckets.outcome), asc(usageBuckets.reason))
      .all()
      .map((row) => `${row.resolution} ${row.start.toISOString()} ${row.series} ${row.outcome} ${row.reason || "-"} ${row.count}`);
  };
  return { store, log, series, rows, set: (at: number) => (now = at) };
}

describe("the usage series recorder", () => {
  test("a flush window across a minute's and an hour's end is split exactly, and the coarser buckets are the sum", async () => {
    const { series, rows, set } = setup();
    for (let i = 0; i < 3; i++) series.token("tok_a", t0 + i);
    series.outcome("success", "api");
    series.outcome("failure", "unknown");
    set(t0 + 40_000);
    for (let i = 0; i < 2; i++) series.token("tok_a", t0 + 40_000);
    series.outcome("failure", "unknown");
    await series.flush();
    expect(rows()).toEqual([
      "1d 2026-01-05T00:00:00.000Z all failure unknown 2",
      "1d 2026-01-05T00:00:00.000Z all success api 1",
      "1d 2026-01-05T00:00:00.000Z tok_a success - 5",
      "1h 2026-01-05T10:00:00.000Z all failure unknown 1",
      "1h 2026-01-05T10:00:00.000Z all success api 1",
      "1h 2026-01-05T10:00:00.000Z tok_a success - 3",
      "1h 2026-01-05T11:00:00.000Z all failure unknown 1",
      "1h 2026-01-05T11:00:00.000Z tok_a success - 2",
      "1m 2026-01-05T10:59:00.000Z all failure unknown 1",
      "1m 2026-01-05T10:59:00.000Z all success api 1",
      "1m 2026-01-05T10:59:00.000Z tok_a success - 3",
      "1m 2026-01-05T11:00:00.000Z all failure unknown 1",
      "1m 2026-01-05T11:00:00.000Z tok_a success - 2",
    ]);
    // A later flush adds to the rows already there.
    series.token("tok_a", t0 + 45_000);
    await series.flush();
    expect(rows()).toContain("1d 2026-01-05T00:00:00.000Z tok_a success - 6");
    expect(rows()).toContain("1m 2026-01-05T11:00:00.000Z tok_a success - 3");
  });

  test("a tally's uses count for the server by source and for the token, in the tally's minute; a flush settles tallies first", async () => {
    const store = memoryStore();
    let settled = 0;
    const series: UsageSeries = new UsageSeries(store, memoryLogger(), keep, () => t0 + 40_000, () => {
      if (settled++ === 0) series.received({ tokenId: "tok_a", source: "env", count: 4, minute: t0 - 30_000, lastUsedAt: t0, lastIp: "10.0.0.5", listed: false });
    });
    await series.flush();
    const { usageBuckets } = tablesOf(store.db);
    const rows = store.db.select().from(usageBuckets).all().filter((row) => row.resolution === "1m");
    expect(rows.map((row) => `${row.start.toISOString()} ${row.series} ${row.reason || "-"} ${row.count}`).toSorted()).toEqual([
      "2026-01-05T10:59:00.000Z all env 4",
      "2026-01-05T10:59:00.000Z tok_a - 4",
    ]);
  });

  test("a write that fails keeps its counts for the next flush, merged with those counted meanwhile", async () => {
    const { store, series, rows } = setup();
    const bookkeeping = store.bookkeeping.bind(store);
    let failing = true;
    store.bookkeeping = ((work: Parameters<typeof bookkeeping>[0]) => (failing ? Promise.reject(new Error("disk full")) : bookkeeping(work))) as typeof store.bookkeeping;
    series.token("tok_a", t0);
    series.outcome("failure", "expired");
    await expect(series.flush()).rejects.toThrow("disk full");
    series.token("tok_a", t0 + 1);
    failing = false;
    await series.flush();
    expect(rows().filter((row) => row.startsWith("1m"))).toEqual(["1m 2026-01-05T10:59:00.000Z all failure expired 1", "1m 2026-01-05T10:59:00.000Z tok_a success - 2"]);
  });

  test("past its capacity, a token's uses count in the overflow series and the log says how many", async () => {
    const { series, rows, log } = setup(2);
    for (const id of ["tok_a", "tok_b", "tok_c", "tok_d", "tok_a"]) series.token(id, t0);
    await series.flush();
    expect(rows().filter((row) => row.startsWith("1m"))).toEqual([
      `1m 2026-01-05T10:59:00.000Z ${OVERFLOW_SERIES} success - 2`,
      "1m 2026-01-05T10:59:00.000Z tok_a success - 2",
      "1m 2026-01-05T10:59:00.000Z tok_b success - 1",
    ]);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: "warn", uses: 2 }));
    // The capacity is of what is held: after a flush, new tokens have room again.
    series.token("tok_c", t0);
    await series.flush();
    expect(rows()).toContain("1m 2026-01-05T10:59:00.000Z tok_c success - 1");
  });

  test("pruning drops each resolution's buckets past its retention, at most once a minute", async () => {
    const { series, rows, set } = setup();
    series.token("tok_a", t0);
    await series.flush();
    set(t0 + day + 2 * minute);
    await series.flush();
    expect(rows().map((row) => row.slice(0, 2))).toEqual(["1d", "1h"]);
    set(t0 + 91 * day);
    await series.flush();
    expect(rows().map((row) => row.slice(0, 2))).toEqual(["1d"]);
    set(t0 + 732 * day);
    series.token("tok_a", t0 + 732 * day);
    await series.flush();
    expect(rows()).toEqual(["1d 2028-01-07T00:00:00.000Z tok_a success - 1", "1h 2028-01-07T10:00:00.000Z tok_a success - 1", "1m 2028-01-07T10:59:00.000Z tok_a success - 1"]);
  });
});
