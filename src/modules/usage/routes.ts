import { Elysia } from "elysia";
import type { Db } from "../../db/client";
import type { authentication } from "../../http/auth";
import { ErrorBody, withFailures } from "../../http/errors";
import { parsePositiveDuration } from "../../config-values";
import { DomainError } from "../../lib/errors";
import { bucketStart } from "./buckets";
import { presentSeries, presentTop, TopQuery, TopTokens, UsageQuery, UsageSeriesRecord } from "./model";
import type { UsageSeries } from "./series";
import { readUsage, topTokens, usageRange } from "./service";

export interface UsageRouteDeps {
  db: Db;
  auth: ReturnType<typeof authentication>;
  series: UsageSeries;
  now: () => number;
}

function window(since: string): number {
  try {
    return parsePositiveDuration(since);
  } catch (error) {
    throw new DomainError("invalid", "invalid_duration", `since: ${(error as Error).message}`);
  }
}

export const usageRoutes = ({ db, auth, series, now }: UsageRouteDeps) =>
  new Elysia({ name: "keyward/usage", prefix: "/api/v1/usage", detail: { tags: ["Usage"] } })
    .use(auth)
    .get(
      "",
      async ({ query }) => {
        const range = usageRange(query.bucket ?? "1h", query.from, query.to, now(), query.token_id);
        // Counts still in memory are written first, so an answer counts every request before it.
        await series.flush();
        return presentSeries(range, await readUsage(db, range));
      },
      {
        auth: "admin",
        query: UsageQuery,
        response: withFailures({ 200: UsageSeriesRecord, 404: ErrorBody }, "credential", "input"),
        detail: {
          summary: "Authentications over time",
          description:
            "Without `token_id`, the whole server's: per bucket, successes (and by credential source) and refusals by reason. With `token_id` (not `token`, which presents a credential), that token's successful uses only (refusals are not attributed to tokens). " +
            "Every bucket from the one holding `from` to the one holding `to` is present, zeros included, oldest first; at most 1,500 in one answer (422 too_many_points), and `from` must be before `to` (422 invalid_range). " +
            "404 token_not_found for an unknown token id. Minute buckets are kept for KEYWARD_USAGE_MINUTES (a day), hour buckets for KEYWARD_USAGE_HOURS (90 days), day buckets for KEYWARD_USAGE_DAYS (two years); instances sharing a database add up.",
        },
      },
    )
    .get(
      "/top",
      async ({ query }) => {
        const since = bucketStart(now() - window(query.since ?? "24h"), "1h");
        await series.flush();
        return presentTop(since, await topTokens(db, since, query.limit ?? 10));
      },
      {
        auth: "admin",
        query: TopQuery,
        response: withFailures({ 200: TopTokens }, "credential", "input"),
        detail: {
          summary: "The most used tokens",
          description: "Tokens by successful uses since `since` (a duration back from now, counted in whole hours), most first, with their user and name. 422 invalid_duration for a `since` that is not a duration.",
        },
      },
    );
