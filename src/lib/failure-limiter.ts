interface Window {
  failures: number;
  /** When the current window ends; while locked, when the lockout ends. */
  until: number;
  /** The lockout of this window has been reported (audited) once. */
  reported: boolean;
}

/** How many of the oldest entries are looked at for one that may go: a bound on the work per failure. */
const EVICTION_SCAN = 64;

export type Lockout = { locked: false } | { locked: true; retryAfterMs: number };

/**
 * Counts events per key (a client address, a user name) in fixed windows; at `max` the key is
 * locked for one window from the event that filled it. Failures use it as a lockout; requests that
 * write rows (enrollments, lab logins) as a rate limit, through `take`. Memory is bounded: past
 * `capacity` keys the oldest entry is dropped, so an attacker rotating addresses cannot grow it,
 * only age out its own entries.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly capacity = 100_000,
  ) {}

  check(key: string, now = Date.now()): Lockout {
    const window = this.windows.get(key);
    if (!window) return { locked: false };
    if (now >= window.until) {
      this.windows.delete(key);
      return { locked: false };
    }
    return window.failures >= this.max ? { locked: true, retryAfterMs: window.until - now } : { locked: false };
  }

  /** Counts one failure; true when this one locked the key. */
  fail(key: string, now = Date.now()): boolean {
    const current = this.windows.get(key);
    const window = current && now < current.until ? current : { failures: 0, until: now + this.windowMs, reported: false };
    window.failures++;
    if (window !== current) {
      this.windows.delete(key);
      if (this.windows.size >= this.capacity) this.evict(now);
      this.windows.set(key, window);
    }
    if (window.failures === this.max) {
      window.until = now + this.windowMs;
      return true;
    }
    return false;
  }

  /** As a rate limit: counts one request if the key is not locked, else says how long to wait. */
  take(key: string, now = Date.now()): Lockout {
    const state = this.check(key, now);
    if (!state.locked) this.fail(key, now);
    return state;
  }

  /** Takes back one failure counted in advance for an attempt that turned out to succeed. */
  forgive(key: string, now = Date.now()): void {
    const window = this.windows.get(key);
    if (window && now < window.until && window.failures > 0) window.failures--;
  }

  /** True once per lockout: the first caller to see the key locked reports it. */
  firstReport(key: string, now = Date.now()): boolean {
    const window = this.windows.get(key);
    if (!window || now >= window.until || window.failures < this.max || window.reported) return false;
    window.reported = true;
    return true;
  }

  /**
   * Makes room: the oldest of the first few entries that is not locked (or whose window ended),
   * so that a flood of one-off failures from fresh addresses cannot push a lockout out early.
   */
  private evict(now: number): void {
    let oldest: string | undefined;
    let scanned = 0;
    for (const [key, window] of this.windows) {
      oldest ??= key;
      if (window.failures < this.max || now >= window.until) {
        this.windows.delete(key);
        return;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    if (oldest !== undefined) this.windows.delete(oldest);
  }

  get size(): number {
    return this.windows.size;
  }
}
