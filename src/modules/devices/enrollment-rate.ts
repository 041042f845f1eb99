export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Counts enrollment requests per client address in fixed windows: each one may write rows (a
 * device, its token, audit events), so a stranger's requests must be bounded. Memory is bounded
 * too: past `capacity` addresses the oldest entry is dropped.
 */
export class EnrollmentRate {
  private readonly windows = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly capacity = 100_000,
  ) {}

  /** Takes one request for `key`, or says how long until the next one is allowed. */
  take(key: string, now = Date.now()): RateDecision {
    const current = this.windows.get(key);
    if (current && now < current.until) {
      if (current.count >= this.max) return { ok: false, retryAfterMs: current.until - now };
      current.count++;
      return { ok: true };
    }
    this.windows.delete(key);
    if (this.windows.size >= this.capacity) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, { count: 1, until: now + this.windowMs });
    return { ok: true };
  }
}
