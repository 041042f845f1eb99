/**
 * Why a proof could not be spent: used before; its key spent too many in the last minute; or too
 * many keys did at once.
 */
export type SpendRefusal = "replayed" | "key_busy" | "busy";
export type Spent = SpendRefusal | null | Promise<SpendRefusal | null>;

/** Where spent proofs are remembered: this process's memory, or also the database several instances share. */
export interface SpentProofs {
  /** Null if `jti` was not spent before by the key `thumbprint`, and now is, until `forgetAt`. */
  spend(thumbprint: string, jti: string, forgetAt: number, now: number): Spent;
}

export interface ReplayLimits {
  /** Live proofs one key may have spent: past it, only that key's proofs are refused. */
  perKey: number;
  /** Past this many in all, only a key that has spent fewer than `quietKey` may add one... */
  crowded: number;
  quietKey: number;
  /** ...and past this, none: the backstop on memory. */
  capacity: number;
}

/**
 * A minute's proofs at 20 a second per key; 100,000 in all before only quiet keys (a device making
 * a few requests) may add more, up to 120,000. One key, or a few, that flood therefore refuse only
 * themselves: crowding the others out takes thousands of enrolled devices flooding at once.
 * Entries hold a jti of at most 128 characters: the backstop is a few tens of MB.
 */
export const REPLAY_LIMITS: ReplayLimits = { perKey: 1_200, crowded: 100_000, quietKey: 10, capacity: 120_000 };

/**
 * The jtis of proofs spent in the last minute, per key, in this process. An entry is kept until its
 * proof could no longer pass (too old), and never forgotten before: a full cache refuses new proofs
 * rather than let an old one be replayed.
 */
export class ProofReplays implements SpentProofs {
  /** Key thumbprint → jti → when it may be forgotten; insertion order is roughly expiry order. */
  private readonly byKey = new Map<string, Map<string, number>>();
  private count = 0;
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly limits: ReplayLimits = REPLAY_LIMITS) {}

  spend(thumbprint: string, jti: string, forgetAt: number, now: number): SpendRefusal | null {
    let spent = this.byKey.get(thumbprint);
    if (spent !== undefined) this.forget(thumbprint, spent, now, spent.size >= this.limits.perKey);
    if (spent?.has(jti)) return "replayed";
    const held = spent?.size ?? 0;
    if (held >= this.limits.perKey) return "key_busy";
    if (this.count >= this.limits.crowded) {
      this.sweep(now);
      if (this.count >= this.limits.capacity || (this.count >= this.limits.crowded && held >= this.limits.quietKey)) return "busy";
    }
    if (spent === undefined) this.byKey.set(thumbprint, (spent = new Map()));
    spent.set(jti, forgetAt);
    this.count++;
    return null;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Forgets a key's expired entries from the oldest on, or all of them (`whole`): a proof made
   * earlier than one spent before it (a slow client) may sit behind a live entry.
   */
  private forget(thumbprint: string, spent: Map<string, number>, now: number, whole: boolean): void {
    for (const [jti, forgetAt] of spent) {
      if (forgetAt > now) {
        if (whole) continue;
        break;
      }
      spent.delete(jti);
      this.count--;
    }
    if (spent.size === 0) this.byKey.delete(thumbprint);
  }

  /** Every key's expired entries, at most once a second: a crowded cache must not cost a sweep per request. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 1_000) return;
    this.sweptAt = now;
    for (const [thumbprint, spent] of this.byKey) this.forget(thumbprint, spent, now, true);
  }
}
