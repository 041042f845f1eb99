import type { Store, Transaction } from "./client";

export interface WriteBehindOptions<V> {
  /** Most distinct keys held; an entry for a new key past it goes to its overflow key instead. */
  capacity: number;
  /** Folds a later value into an earlier one of the same key (counts add up, times keep the latest). */
  merge(earlier: V, later: V): V;
  /**
   * The coarser key, and value, of an entry that finds the buffer full: drawn from a small fixed
   * set, so memory stays bounded, yet the entry is still counted rather than dropped.
   */
  overflow(key: string, value: V): [string, V];
  /** Writes one batch; runs inside one transaction. */
  write(tx: Transaction, batch: ReadonlyMap<string, V>): void | Promise<void>;
}

/**
 * Things written after the fact, so the request that caused them costs no database write: usage
 * counts, device sightings, failed authentications. Entries of one key are merged in memory and
 * written in one transaction per flush. A batch whose write fails is merged back and retried at
 * the next flush, never dropped: audit events are security records.
 */
export class WriteBehind<V> {
  private pending = new Map<string, V>();

  constructor(
    private readonly store: Pick<Store, "bookkeeping">,
    private readonly options: WriteBehindOptions<V>,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** The value held for a key, to change in place on a hot path (a flush takes the whole map at once). */
  held(key: string): V | undefined {
    return this.pending.get(key);
  }

  add(key: string, value: V): void {
    const earlier = this.pending.get(key);
    if (earlier !== undefined) {
      this.pending.set(key, this.options.merge(earlier, value));
    } else if (this.pending.size < this.options.capacity) {
      this.pending.set(key, value);
    } else {
      const [coarse, folded] = this.options.overflow(key, value);
      const held = this.pending.get(coarse);
      this.pending.set(coarse, held === undefined ? folded : this.options.merge(held, folded));
    }
  }

  /** Writes what is held; on failure keeps it for the next flush and rethrows. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.bookkeeping((tx) => this.options.write(tx, batch));
    } catch (error) {
      const later = this.pending;
      this.pending = batch;
      for (const [key, value] of later) this.add(key, value);
      throw error;
    }
  }
}
