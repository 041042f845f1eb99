import { formatDuration, parseDuration } from "../../lib/durations";
import { DomainError } from "../../lib/errors";

/** At most `requests` authenticated requests per fixed window of `perMs`, counted in memory. */
export interface RateLimit {
  requests: number;
  perMs: number;
}

/** A token's limits as an issue or rotation writes them: null fields are no limit. */
export interface TokenLimits {
  rateLimit: RateLimit | null;
  /** Uses left; null: unlimited. */
  remainingUses: number | null;
  /** Every `everyMs` after the last refill, the uses left are set back to `uses`. */
  refill: { uses: number; everyMs: number } | null;
}

export const NO_LIMITS: TokenLimits = { rateLimit: null, remainingUses: null, refill: null };

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** The bounds the API states: a window from 1s to 1d, a refill period from 1m to 366d. */
const WINDOW = { min: SECOND, max: DAY, text: "1s and 1d" };
const REFILL_PERIOD = { min: MINUTE, max: 366 * DAY, text: "1m and 366d" };
const MAX_REQUESTS = 1_000_000;
const MAX_USES = 1_000_000_000;

/** The limits as the API and the CLI take them: durations as text. */
export interface LimitsInput {
  rate_limit?: { requests: number; per: string } | null;
  remaining_uses?: number | null;
  refill?: { uses: number; every: string } | null;
}

const invalid = (code: string, message: string) => new DomainError("invalid", code, message);

function period(field: string, text: string, bounds: { min: number; max: number; text: string }): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw invalid("invalid_duration", `${field}: ${(error as Error).message}`);
  }
  if (ms < bounds.min || ms > bounds.max) throw invalid("invalid_duration", `${field}: must be between ${bounds.text}`);
  return ms;
}

function whole(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid("invalid_limit", `${field}: a whole number from ${min} to ${max}`);
  return value;
}

/** Checks and converts what a client asked for; a refill needs a quota to refill. */
export function parseLimits(input: LimitsInput): TokenLimits {
  const rate = input.rate_limit ?? null;
  const refill = input.refill ?? null;
  const remaining = input.remaining_uses ?? null;
  if (refill !== null && remaining === null) throw invalid("invalid_limit", "refill needs remaining_uses: the uses it sets back");
  return {
    rateLimit: rate === null ? null : { requests: whole("rate_limit.requests", rate.requests, 1, MAX_REQUESTS), perMs: period("rate_limit.per", rate.per, WINDOW) },
    remainingUses: remaining === null ? null : whole("remaining_uses", remaining, 0, MAX_USES),
    refill: refill === null ? null : { uses: whole("refill.uses", refill.uses, 1, MAX_USES), everyMs: period("refill.every", refill.every, REFILL_PERIOD) },
  };
}

/** `N/PER` as the CLI and the admin page take a rate limit or a refill (`100/1m`, `1000/1d`). */
export function parseCountPer(flag: string, text: string): { count: number; per: string } {
  const match = /^\s*(\d{1,10})\s*\/\s*(\S{1,16})\s*$/.exec(text);
  if (!match) throw invalid("invalid_limit", `${flag}: "${text.slice(0, 40)}" is not N/PERIOD, like 100/1m`);
  return { count: Number(match[1]), per: match[2]! };
}

/** The quota columns of a token row. */
export interface QuotaColumns {
  remainingUses: number | null;
  refillUses: number | null;
  refillEveryMs: number | null;
  refilledAt: Date | null;
}

/**
 * The quota as it stands at `now`: a refill that fell due since the last one is applied (the row
 * is written only when a use is spent). Refills keep their schedule: the next falls a whole number
 * of periods after the first, however late the spend that applies it.
 */
export function quotaAt(row: QuotaColumns, now: number): { remaining: number | null; refilledAt: number | null; nextRefillAt: number | null } {
  if (row.remainingUses === null) return { remaining: null, refilledAt: null, nextRefillAt: null };
  if (row.refillUses === null || row.refillEveryMs === null || row.refilledAt === null) return { remaining: row.remainingUses, refilledAt: null, nextRefillAt: null };
  const every = row.refillEveryMs;
  let refilledAt = row.refilledAt.getTime();
  let remaining = row.remainingUses;
  if (now >= refilledAt + every) {
    refilledAt += Math.floor((now - refilledAt) / every) * every;
    remaining = row.refillUses;
  }
  return { remaining, refilledAt, nextRefillAt: refilledAt + every };
}

/** The row's limits as the API shows them (durations as text, the next refill as a time). */
export function presentLimits(row: QuotaColumns & { rateLimitRequests: number | null; rateLimitPerMs: number | null }, now: number) {
  const quota = quotaAt(row, now);
  return {
    rate_limit: row.rateLimitRequests === null || row.rateLimitPerMs === null ? null : { requests: row.rateLimitRequests, per: formatDuration(row.rateLimitPerMs) },
    remaining_uses: quota.remaining,
    refill:
      quota.nextRefillAt === null ? null : { uses: row.refillUses!, every: formatDuration(row.refillEveryMs!), next_at: new Date(quota.nextRefillAt).toISOString() },
  };
}

type ShownLimits = ReturnType<typeof presentLimits>;

/** A record's limits in words for people (the CLI, the admin page): `100/1m`, `5 (1000/1d, next …)`, or null for none. */
export function limitsInWords({ rate_limit, remaining_uses, refill }: ShownLimits): { rate: string | null; uses: string | null } {
  const rate = rate_limit === null ? null : `${rate_limit.requests}/${rate_limit.per}`;
  if (remaining_uses === null) return { rate, uses: null };
  return { rate, uses: refill === null ? String(remaining_uses) : `${remaining_uses} (refill ${refill.uses}/${refill.every}, next ${refill.next_at})` };
}
