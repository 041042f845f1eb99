import type { ChangeMonitor } from "./changes";

/**
 * A bounded map of what was read from the database (a missing record included), emptied whenever
 * the ChangeMonitor says the database may have changed: at once for this process's writes, within
 * its poll for another's. Past capacity the oldest entry goes.
 */
export class ChangeBoundCache<V> {
  private readonly entries = new Map<string, V>();
  private generation: number;

  constructor(
    private readonly changes: Pick<ChangeMonitor, "current">,
    private readonly capacity: number,
  ) {
    this.generation = changes.current();
  }

  /** The generation the entries belong to, after emptying them if the database changed since. */
  current(now: number): number {
    const generation = this.changes.current(now);
    if (generation !== this.generation) {
      this.entries.clear();
      this.generation = generation;
    }
    return generation;
  }

  get(key: string, now: number): V | undefined {
    this.current(now);
    return this.entries.get(key);
  }

  /**
   * Keeps a value read under generation `readUnder` (from `current`), unless the database changed
   * since: a read that waited (a signature check) must not outlive a revocation meanwhile.
   */
  set(key: string, value: V, readUnder: number, now: number): void {
    if (this.current(now) !== readUnder) return;
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
  }

  /**
   * Reads through: the entry, or `read(key)` kept for next time (a function made once, not per
   * call). A read that is a promise (PostgreSQL) is kept only if nothing changed while it ran.
   */
  through(key: string, now: number, read: (key: string) => V | Promise<V>): V | Promise<V> {
    const readUnder = this.current(now);
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    const value = read(key);
    if (!(value instanceof Promise)) {
      this.set(key, value, readUnder, now);
      return value;
    }
    return value.then((settled) => {
      this.set(key, settled, readUnder, now);
      return settled;
    });
  }
}
