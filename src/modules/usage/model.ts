import { t } from "elysia";
import { Nullable, WholeNumber } from "../../http/schema";
import { usageResolutions } from "../../db/schema";
import type { TopToken, UsagePoint, UsageRange } from "./service";

const Bucket = t.UnionEnum(usageResolutions, { description: "Bucket length: a minute, an hour or a day (UTC)" });
const counts = (description: string) => t.Record(t.String(), WholeNumber({ minimum: 0 }), { description });

export const UsageQuery = t.Object({
  // Not `token`: where query tokens are allowed, ?token= is the credential presented.
  token_id: t.Optional(t.String({ maxLength: 64, description: "A token's id: its successful uses. Leave it out for the whole server", examples: ["tok_4QmR8bXz2LhT9wKd"] })),
  from: t.Optional(t.String({ format: "date-time", description: "Start of the range; by default a day before `to` (30 days for 1d buckets)" })),
  to: t.Optional(t.String({ format: "date-time", description: "End of the range; now by default" })),
  bucket: t.Optional(t.UnionEnum(usageResolutions, { default: "1h", description: "Bucket length, 1h by default" })),
});

export const UsagePointRecord = t.Object(
  {
    start: t.String({ format: "date-time", description: "The bucket's start" }),
    successes: WholeNumber({ minimum: 0, description: "Authentications that passed" }),
    sources: t.Optional(counts("The whole server's only: successes by credential source (api, env, login, session, device…)")),
    failures: t.Optional(counts("The whole server's only: refusals by reason (unknown, expired, locked_out…)")),
  },
  { title: "UsagePoint" },
);

export const UsageSeriesRecord = t.Object(
  {
    bucket: Bucket,
    from: t.String({ format: "date-time", description: "The first bucket's start" }),
    to: t.String({ format: "date-time" }),
    token_id: t.Optional(t.String({ description: "The token whose uses these are; absent for the whole server" })),
    points: t.Array(UsagePointRecord, { description: "Every bucket of the range, oldest first, zeros included" }),
  },
  { title: "UsageSeries" },
);

export const TopQuery = t.Object({
  since: t.Optional(t.String({ maxLength: 16, default: "24h", description: "How far back: a duration like 24h, 7d or 90d (hour buckets, kept for KEYWARD_USAGE_HOURS)" })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 10, description: "Most tokens listed, at most 100" })),
});

export const TopTokens = t.Object(
  {
    since: t.String({ format: "date-time", description: "Start of the hour the window starts in" }),
    tokens: t.Array(
      t.Object({
        token_id: t.String(),
        user: Nullable(t.String({ description: "Null for a token no longer stored" })),
        name: Nullable(t.String()),
        successes: WholeNumber({ minimum: 0 }),
      }),
      { description: "Most successful uses first" },
    ),
  },
  { title: "TopTokens" },
);

const iso = (ms: number) => new Date(ms).toISOString();

export function presentSeries(range: UsageRange, points: UsagePoint[]): typeof UsageSeriesRecord.static {
  return {
    bucket: range.bucket,
    from: iso(range.from),
    to: iso(range.to),
    ...(range.token === undefined ? {} : { token_id: range.token }),
    points: points.map((point) => ({ ...point, start: iso(point.start) })),
  };
}

export const presentTop = (since: number, tokens: TopToken[]): typeof TopTokens.static => ({
  since: iso(since),
  tokens: tokens.map(({ tokenId, user, name, successes }) => ({ token_id: tokenId, user, name, successes })),
});
