interface Window {
  failures: number;
  /** When the current window ends; while locked, when the lockout ends. */
  until: number;
  /** The lockout of this window has been reported (audited) once. */
  reported: boolean;
  /** Another instance's lock: no attempt that succeeds here takes it back. */
  held?: boolean;
}

export type Lockout = { locked: false } | { locked: true; retryAfterMs: number };

/**
 * Counts events per key (a client address, a user name) in fixed windows; at `max` the key is
 * locked for one window from the event that filled it. Failures use it as a lockout; requests that
 * write rows (enrollments, lab logins) as a rate limit, through `take`.
 *
 * Memory is bounded, and locks are kept apart from counts: past `capacity` counting keys the
 * oldest count is dropped, so a flood of one-off failures from fresh addresses only ages out its
 * own entries. Locked keys live in a table of their own, which only keys that reached `max` can
 * fill: to push a lock out early an attacker must lock `capacity` keys of their own first.
 */
export class FailureLimiter {
  private readonly counting = new Map<string, Window>();
  private readonly locked = new Map<string, Window>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly capacity = 100_000,
  ) {}

  check(key: string, now = Date.now()): Lockout {
    const window = this.current(key, now);
    return window && window.failures >= this.max ? { locked: true, retryAfterMs: window.until - now } : { locked: false };
  }

  /** Counts one failure; true when this one locked the key. */
  fail(key: string, now = Date.now()): boolean {
    const window = this.current(key, now) ?? this.remember(this.counting, key, { failures: 0, until: now + this.windowMs, reported: false });
    window.failures++;
    if (window.failures !== this.max) return false;
    window.until = now + this.windowMs;
    this.counting.delete(key);
    this.remember(this.locked, key, window);
    return true;
  }

  /** As a rate limit: counts one request if the key is not locked, else says how long to wait. */
  take(key: string, now = Date.now()): Lockout {
    const state = this.check(key, now);
    if (!state.locked) this.fail(key, now);
    return state;
  }

  /** Takes back one failure counted in advance for an attempt that turned out to succeed. */
  forgive(key: string, now = Date.now()): void {
    const window = this.current(key, now);
    if (!window || window.failures === 0 || window.held) return;
    window.failures--;
    if (window.failures === this.max - 1 && this.locked.delete(key)) this.remember(this.counting, key, window);
  }

  /**
   * Locks the key until `until` (another instance locked it): a later end wins, an earlier one or a
   * past one changes nothing. Counted as reported, so only the instance that locked it audits it.
   */
  lockUntil(key: string, until: number, now = Date.now()): void {
    if (until <= now) return;
    const window = this.current(key, now);
    if (window && window.failures >= this.max) {
      window.until = Math.max(window.until, until);
      window.held = true;
      return;
    }
    this.counting.delete(key);
    this.remember(this.locked, key, { failures: this.max, until, reported: true, held: true });
  }

  /** True once per lockout: the first caller to see the key locked reports it. */
  firstReport(key: string, now = Date.now()): boolean {
    const window = this.current(key, now);
    if (!window || window.failures < this.max || window.reported) return false;
    window.reported = true;
    return true;
  }

  /** The keys locked at `now`, each with when its lock ends. */
  *locks(now = Date.now()): Generator<[key: string, until: number]> {
    for (const [key, window] of this.locked) if (window.until > now && window.failures >= this.max) yield [key, window.until];
  }

  get size(): number {
    return this.counting.size + this.locked.size;
  }

  /** The key's window if it has not ended; an ended one is forgotten. */
  private current(key: string, now: number): Window | undefined {
    const window = this.locked.get(key) ?? this.counting.get(key);
    if (window && now >= window.until) {
      this.locked.delete(key);
      this.counting.delete(key);
      return undefined;
    }
    return window;
  }

  private remember(table: Map<string, Window>, key: string, window: Window): Window {
    if (table.size >= this.capacity) table.delete(table.keys().next().value!);
    table.set(key, window);
    return window;
  }
}
