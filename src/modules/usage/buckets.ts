import { and, eq, lt, sql } from "drizzle-orm";
import { tablesOf, type Transaction } from "../../db/client";
import { usageResolutions, type usageBuckets } from "../../db/schema";

export type Resolution = (typeof usageResolutions)[number];
export type BucketRow = typeof usageBuckets.$inferInsert;

export const bucketMs: Record<Resolution, number> = { "1m": 60_000, "1h": 3_600_000, "1d": 86_400_000 };

/** The start of the bucket holding `at`: buckets are aligned to UTC (the epoch is midnight UTC). */
export const bucketStart = (at: number, resolution: Resolution): number => Math.floor(at / bucketMs[resolution]) * bucketMs[resolution];

/** The whole server's series; any other is a token's id. */
export const ALL_SERIES = "all";

/** How long each resolution's buckets are kept, in ms. */
export type UsageRetention = Record<Resolution, number>;

/** Six bound values a row: far under either engine's limit on a statement's parameters. */
const ROWS_PER_INSERT = 500;

/** A count kept in memory, before it is a bucket. */
export interface Counted {
  series: string;
  outcome: "success" | "failure";
  reason: string;
  count: number;
}

/**
 * Adds one minute's counts to the rows of its 1m, 1h and 1d buckets, summed by key: one statement
 * may not touch a row twice on PostgreSQL, so two minutes of one hour are one row before it is written.
 */
export function rollUp(minuteStart: number, counted: Iterable<Counted>, into: Map<string, BucketRow>): void {
  for (const { series, outcome, reason, count } of counted) {
    for (const resolution of usageResolutions) {
      const start = bucketStart(minuteStart, resolution);
      const key = `${resolution} ${start} ${outcome} ${reason} ${series}`;
      const row = into.get(key);
      if (row) row.count += count;
      else into.set(key, { resolution, start: new Date(start), series, outcome, reason, count });
    }
  }
}

/** Adds the rows' counts to their buckets, creating those not there yet: instances' counts add up. */
export async function addToBuckets(tx: Transaction, rows: readonly BucketRow[]): Promise<void> {
  const { usageBuckets } = tablesOf(tx);
  const key = [usageBuckets.resolution, usageBuckets.series, usageBuckets.outcome, usageBuckets.reason, usageBuckets.start];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await tx
      .insert(usageBuckets)
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .onConflictDoUpdate({ target: key, set: { count: sql`${usageBuckets.count} + excluded."count"` } });
  }
}

/** Deletes the buckets of each resolution that ended before its retention. */
export async function pruneBuckets(tx: Transaction, retention: UsageRetention, now: number): Promise<void> {
  const { usageBuckets } = tablesOf(tx);
  for (const resolution of usageResolutions) {
    const before = new Date(now - retention[resolution] - bucketMs[resolution]);
    await tx.delete(usageBuckets).where(and(eq(usageBuckets.resolution, resolution), lt(usageBuckets.start, before)));
  }
}
