import { and, desc, eq, gte, inArray, lt, notInArray, sql } from "drizzle-orm";
import { tablesOf, type Db } from "../../db/client";
import { storable } from "../../db/storable";
import { DomainError } from "../../lib/errors";
import { ALL_SERIES, bucketMs, bucketStart, type Resolution } from "./buckets";
import { OVERFLOW_SERIES } from "./series";

/** Most buckets one answer holds: a day of minutes (1,440) fits, a chart needs no more. */
export const MAX_POINTS = 1_500;

export interface UsageRange {
  bucket: Resolution;
  /** The first bucket is the one holding `from`. */
  from: number;
  /** Buckets that start before `to`, the one holding it included. */
  to: number;
  token?: string;
}

export interface UsagePoint {
  start: number;
  successes: number;
  /** The whole server's only: successes by credential source, and failures by refusal reason. */
  sources?: Record<string, number>;
  failures?: Record<string, number>;
}

/** A range's default start: a day back for minutes and hours, 30 days for days. */
export const defaultSpan = (bucket: Resolution): number => (bucket === "1d" ? 30 : 1) * bucketMs["1d"];

/** The range asked for, checked and aligned to its buckets; a bad one is a 422 that says why. */
export function usageRange(bucket: Resolution, from: string | undefined, to: string | undefined, now: number, token?: string): UsageRange {
  const end = to === undefined ? now : instant("to", to);
  const first = from === undefined ? end - defaultSpan(bucket) : instant("from", from);
  if (first >= end) throw new DomainError("invalid", "invalid_range", "from must be before to");
  const start = bucketStart(first, bucket);
  const points = Math.ceil((end - start) / bucketMs[bucket]);
  if (points > MAX_POINTS) {
    throw new DomainError("invalid", "too_many_points", `${points} ${bucket} buckets asked for, at most ${MAX_POINTS.toLocaleString("en-US")} in one answer: shorten the range or use a coarser bucket`);
  }
  return { bucket, from: start, to: end, token };
}

function instant(field: string, text: string): number {
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new DomainError("invalid", "invalid_range", `${field} is not a date-time like 2025-01-31T12:00:00Z`);
  return at;
}

/** One series' buckets over the range, every bucket present (zeros where nothing was counted). */
export async function readUsage(db: Db, range: UsageRange): Promise<UsagePoint[]> {
  const { usageBuckets } = tablesOf(db);
  if (range.token !== undefined) await tokenNamed(db, range.token);
  const series = range.token ?? ALL_SERIES;
  const rows = await db
    .select({ start: usageBuckets.start, outcome: usageBuckets.outcome, reason: usageBuckets.reason, count: usageBuckets.count })
    .from(usageBuckets)
    .where(and(eq(usageBuckets.resolution, range.bucket), eq(usageBuckets.series, series), gte(usageBuckets.start, new Date(range.from)), lt(usageBuckets.start, new Date(range.to))));
  const step = bucketMs[range.bucket];
  const points: UsagePoint[] = [];
  for (let start = range.from; start < range.to; start += step) {
    points.push(range.token === undefined ? { start, successes: 0, sources: {}, failures: {} } : { start, successes: 0 });
  }
  for (const { start, outcome, reason, count } of rows) {
    const point = points[Math.floor((start.getTime() - range.from) / step)];
    if (point === undefined) continue;
    if (outcome === "success") {
      point.successes += count;
      if (point.sources) point.sources[reason] = (point.sources[reason] ?? 0) + count;
    } else if (point.failures) {
      point.failures[reason] = (point.failures[reason] ?? 0) + count;
    }
  }
  return points;
}

async function tokenNamed(db: Db, id: string) {
  const { tokens } = tablesOf(db);
  const [row] = storable(id) ? await db.select({ id: tokens.id, user: tokens.user, name: tokens.name }).from(tokens).where(eq(tokens.id, id)) : [];
  if (!row) throw new DomainError("not_found", "token_not_found", `No token with id ${id}`);
  return row;
}

export interface TopToken {
  tokenId: string;
  user: string | null;
  name: string | null;
  successes: number;
}

/** The tokens with the most successes since `since` (from hour buckets: the hour holding `since` counts whole). */
export async function topTokens(db: Db, since: number, limit: number): Promise<TopToken[]> {
  const { usageBuckets, tokens } = tablesOf(db);
  const successes = sql<number>`sum(${usageBuckets.count})`.mapWith(Number);
  const rows = await db
    .select({ tokenId: usageBuckets.series, successes })
    .from(usageBuckets)
    .where(
      and(
        eq(usageBuckets.resolution, "1h"),
        gte(usageBuckets.start, new Date(bucketStart(since, "1h"))),
        eq(usageBuckets.outcome, "success"),
        notInArray(usageBuckets.series, [ALL_SERIES, OVERFLOW_SERIES]),
      ),
    )
    .groupBy(usageBuckets.series)
    .orderBy(desc(successes), usageBuckets.series)
    .limit(limit);
  if (rows.length === 0) return [];
  const named = await db
    .select({ id: tokens.id, user: tokens.user, name: tokens.name })
    .from(tokens)
    .where(
      inArray(
        tokens.id,
        rows.map((row) => row.tokenId),
      ),
    );
  const byId = new Map(named.map((row) => [row.id, row]));
  return rows.map(({ tokenId, successes }) => ({ tokenId, successes, user: byId.get(tokenId)?.user ?? null, name: byId.get(tokenId)?.name ?? null }));
}
