import type { AuditQueue } from "../audit/service";
import type { Metrics } from "../metrics/registry";
import type { RateLimit } from "../tokens/limits";
import type { Quotas } from "../tokens/quota";
import type { RateLimiter } from "../tokens/rate-limit";
import type { Address, Refusal } from "./model";
import { refusal } from "./outcomes";

/** What the hot path knows of a token with limits (cached with the token; the uses left are not). */
export interface LimitedToken {
  tokenId: string;
  user: string;
  rate: RateLimit | null;
  /** It has a quota: each use is spent in the database. */
  quota: boolean;
}

export interface LimitDeps {
  rates: RateLimiter;
  quotas: Quotas;
  metrics: Metrics;
  audit: AuditQueue;
}

/**
 * The last step of admitting a token that has limits: its rate limit (in memory, at once), then
 * its quota (a durable spend, a promise). A request the rate limit refuses spends no use. Neither
 * refusal counts towards the address's lockout: a valid token guesses nothing, and counting would
 * let its holder lock out an address (a proxy's). Audited sparingly, as a holder can send a flood:
 * the first rate-limited request of each window, and the use that empties a quota (quota.ts).
 */
export function limitGate({ rates, quotas, metrics, audit }: LimitDeps) {
  const quotaRefusal = (retryAfterMs: number | null): Refusal => {
    metrics.authentication("failure", "quota_exhausted");
    return refusal("quota_exhausted", "token", retryAfterMs === null ? {} : { retryAfterMs });
  };
  return (limits: LimitedToken, address: Address, now: number): Refusal | null | Promise<Refusal | null> => {
    if (limits.rate !== null) {
      const wait = rates.take(limits.tokenId, limits.rate, now);
      if (wait > 0) {
        metrics.authentication("failure", "rate_limited");
        if (rates.refusals(limits.tokenId) === 1) audit.push({ action: "auth.failed", ip: address(), tokenId: limits.tokenId, user: limits.user, detail: "token rate_limited" });
        return refusal("rate_limited", "token", { retryAfterMs: wait, rateLimit: limits.rate });
      }
    }
    if (!limits.quota) return null;
    return quotas.spend(limits.tokenId, now).then((spent) => (spent.ok ? null : quotaRefusal(spent.retryAfterMs)));
  };
}

export type LimitGate = ReturnType<typeof limitGate>;
