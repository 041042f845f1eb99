import { lockoutBucket } from "../../lib/cidr";
import type { FailureLimiter } from "../../lib/failure-limiter";
import { canonicalName } from "../../lib/names";
import type { AuditQueue } from "../audit/service";

/** The lockout key of a client address: an IPv6 host counts by its /64, which it can roam freely. */
export const addressKey = (ip: string) => `ip:${lockoutBucket(ip)}`;
/** The lockout key of a user name, in its one canonical spelling. */
export const nameKey = (name: string) => `user:${canonicalName(name)}`;

export interface Attempt {
  /** The credential was right: the failure counted in advance is taken back. */
  succeeded(): void;
  /** The credential was wrong: the count stands, and a lockout it started is audited once. */
  failed(): void;
}

export type Begun = { ok: true; attempt: Attempt } | { ok: false; retryAfterMs: number };

interface Who {
  ip: string;
  user?: string;
}

/**
 * Failure budgets per address and per name. An attempt at a guessable secret counts against every
 * key when it starts, not when its (slow) check finishes: sixty password guesses sent at once get
 * only as many checks as the budget allows, and the rest are refused without one.
 */
export class Lockout {
  constructor(
    private readonly limiter: FailureLimiter,
    private readonly audit: AuditQueue,
    private readonly now: () => number,
  ) {}

  /** How long until every key may try again; 0 when none is locked. */
  retryAfter(keys: readonly string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const state = this.limiter.check(key, now);
      if (state.locked && state.retryAfterMs > wait) wait = state.retryAfterMs;
    }
    return wait;
  }

  begin(keys: readonly string[], who: Who): Begun {
    const retryAfterMs = this.retryAfter(keys);
    if (retryAfterMs > 0) return { ok: false, retryAfterMs };
    const now = this.now();
    for (const key of keys) this.limiter.fail(key, now);
    let settled = false;
    return {
      ok: true,
      attempt: {
        succeeded: () => {
          if (settled) return;
          settled = true;
          const at = this.now();
          for (const key of keys) this.limiter.forgive(key, at);
        },
        failed: () => {
          if (settled) return;
          settled = true;
          this.reportLocks(keys, who);
        },
      },
    };
  }

  /** One failure that needed no slow check (a bad token, a refused 403): counted at once. */
  count(keys: readonly string[], who: Who): void {
    const now = this.now();
    for (const key of keys) this.limiter.fail(key, now);
    this.reportLocks(keys, who);
  }

  private reportLocks(keys: readonly string[], who: Who): void {
    const now = this.now();
    for (const key of keys) {
      if (this.limiter.firstReport(key, now)) this.audit.push({ action: "auth.locked", ip: who.ip, user: who.user, detail: `${key} locked out` });
    }
  }
}
