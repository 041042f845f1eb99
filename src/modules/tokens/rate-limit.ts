import type { RateLimit } from "./limits";

/** One token's current window: when it ends and how many requests it has let through. */
interface Window {
  end: number;
  count: number;
  refused: number;
}

/** What `take` says: let through (0), or refused with the milliseconds until the window ends. */
export type Wait = number;

/**
 * Per-token rate limits: a fixed window per token id, opened by its first request, counted
 * exactly, in memory (no database write per request). Only tokens with a limit have an entry, and
 * only while they are used: each window opened drops up to two that are over from the front (the
 * map is in the order windows opened), and past `capacity` the oldest goes, so memory stays
 * bounded whatever the number of tokens. Per instance: N instances let up to N times the rate.
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly capacity = 100_000) {}

  /** Counts one request of `tokenId` at `now`: 0 to let it through, else how long until it may. */
  take(tokenId: string, limit: RateLimit, now: number): Wait {
    const window = this.windows.get(tokenId);
    // A window ending more than one period ahead was opened before the clock was set back: over,
    // or the token would stay refused until the clock caught up, whatever Retry-After said.
    if (window !== undefined && now < window.end && window.end - now <= limit.perMs) {
      if (window.count < limit.requests) {
        window.count++;
        return 0;
      }
      window.refused++;
      return window.end - now;
    }
    this.open(tokenId, now + limit.perMs, now);
    return 0;
  }

  /** The token's window at `now` on this instance, or null when none is open (no request since its last one ended). */
  window(tokenId: string, now: number): { used: number; refused: number; endsAt: number } | null {
    const window = this.windows.get(tokenId);
    return window === undefined || window.end <= now ? null : { used: window.count, refused: window.refused, endsAt: window.end };
  }

  /** Requests refused in the token's current window: the first is audited, not each one. */
  refusals(tokenId: string): number {
    return this.windows.get(tokenId)?.refused ?? 0;
  }

  /** Entries held: for tests of the bound. */
  get size(): number {
    return this.windows.size;
  }

  private open(tokenId: string, end: number, now: number): void {
    this.windows.delete(tokenId);
    for (let dropped = 0; dropped < 2; dropped++) {
      const oldest = this.windows.entries().next().value;
      if (oldest === undefined || (oldest[1].end > now && this.windows.size < this.capacity)) break;
      this.windows.delete(oldest[0]);
    }
    this.windows.set(tokenId, { end, count: 1, refused: 0 });
  }
}
