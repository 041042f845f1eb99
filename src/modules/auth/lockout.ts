import { lockoutBucket } from "../../lib/cidr";
import type { FailureLimiter } from "../../lib/failure-limiter";
import { canonicalName } from "../../lib/names";
import type { AuditQueue } from "../audit/service";

/** The lockout key of a client address: an IPv6 host counts by its /64, which it can roam freely. */
export const addressKey = (ip: string) => `ip:${lockoutBucket(ip)}`;
const NAME_PREFIX = "user:";
/** The lockout key of a user name, in its one canonical spelling. */
export const nameKey = (name: string) => `${NAME_PREFIX}${canonicalName(name)}`;

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
  /**
   * Names and addresses are counted apart: bad tokens from many fresh addresses are cheap to send,
   * and must not crowd a locked name out of a shared table.
   */
  constructor(
    private readonly addresses: FailureLimiter,
    private readonly names: FailureLimiter,
    private readonly audit: AuditQueue,
    private readonly now: () => number,
    /** Where a lock taken here is noted for the other instances on the database (shared-lockouts.ts). */
    private readonly shared?: { note(key: string, until: number): void },
  ) {}

  private limiter(key: string): FailureLimiter {
    return key.startsWith(NAME_PREFIX) ? this.names : this.addresses;
  }

  /** A lock another instance took: refused here too until it ends, audited only there. */
  install(key: string, until: number): void {
    this.limiter(key).lockUntil(key, until, this.now());
  }

  /** How long until every key may try again; 0 when none is locked. */
  retryAfter(keys: readonly string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const state = this.limiter(key).check(key, now);
      if (state.locked && state.retryAfterMs > wait) wait = state.retryAfterMs;
    }
    return wait;
  }

  /**
   * The keys locked now on this instance (those taken here, and those loaded from the others), the
   * latest to end first, at most `limit`. Each table is bounded, so sorting it is too.
   */
  current(limit: number): { key: string; until: number }[] {
    const now = this.now();
    const locks = [...this.addresses.locks(now), ...this.names.locks(now)].map(([key, until]) => ({ key, until }));
    return locks.sort((a, b) => b.until - a.until || (a.key < b.key ? -1 : 1)).slice(0, limit);
  }

  begin(keys: readonly string[], who: Who): Begun {
    const retryAfterMs = this.retryAfter(keys);
    if (retryAfterMs > 0) return { ok: false, retryAfterMs };
    const now = this.now();
    for (const key of keys) this.limiter(key).fail(key, now);
    let settled = false;
    return {
      ok: true,
      attempt: {
        succeeded: () => {
          if (settled) return;
          settled = true;
          const at = this.now();
          for (const key of keys) this.limiter(key).forgive(key, at);
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
    for (const key of keys) this.limiter(key).fail(key, now);
    this.reportLocks(keys, who);
  }

  private reportLocks(keys: readonly string[], who: Who): void {
    const now = this.now();
    for (const key of keys) {
      const limiter = this.limiter(key);
      if (!limiter.firstReport(key, now)) continue;
      this.audit.push({ action: "auth.locked", ip: who.ip, user: who.user, detail: `${key} locked out` });
      // Shared once a failed attempt settles it: a lock made only by attempts still in flight stays here.
      const state = limiter.check(key, now);
      if (state.locked) this.shared?.note(key, now + state.retryAfterMs);
    }
  }
}
