import type { Store } from "../../db/client";
import type { Logger } from "../../log";
import { addToBuckets, ALL_SERIES, type BucketRow, bucketMs, type Counted, pruneBuckets, rollUp, type UsageRetention } from "./buckets";
import { Turns } from "../../lib/turns";
import type { Tally, TallyReceiver } from "./tallies";

/** Distinct tokens held across the unwritten minutes: only tokens that verified count, so this is far past a LAN's. */
const TOKEN_CAPACITY = 100_000;
/** Where a token's successes go once the capacity is reached: counted, not attributed. */
export const OVERFLOW_SERIES = "overflow";
const PRUNE_EVERY_MS = 60_000;

/** One minute's counts: the whole server's successes by source and failures by reason, and each token's successes. */
interface Minute {
  successes: Map<string, number>;
  failures: Map<string, number>;
  tokens: Map<string, number>;
}

const emptyMinute = (): Minute => ({ successes: new Map(), failures: new Map(), tokens: new Map() });

const add = (map: Map<string, number>, key: string, count = 1) => map.set(key, (map.get(key) ?? 0) + count);

/** A number summed over the minutes' token counts. */
function sumOver(minutes: Map<number, Minute>, of: (tokens: Map<string, number>) => number): number {
  let sum = 0;
  for (const [, { tokens }] of minutes) sum += of(tokens);
  return sum;
}

function* counted({ successes, failures, tokens }: Minute): Generator<Counted> {
  for (const [reason, count] of successes) yield { series: ALL_SERIES, outcome: "success", reason, count };
  for (const [reason, count] of failures) yield { series: ALL_SERIES, outcome: "failure", reason, count };
  for (const [series, count] of tokens) yield { series, outcome: "success", reason: "", count };
}

/**
 * Authentications over time, counted in memory by minute of the injected clock and written in one
 * bookkeeping transaction per flush into the minute's 1m, 1h and 1d buckets (usage_buckets), so a
 * request costs one Map increment and never a write. Minutes are kept apart until written: a flush
 * window that spans a minute's end is split exactly. A write that fails is kept for the next flush.
 */
export class UsageSeries implements TallyReceiver {
  private minutes = new Map<number, Minute>();
  /** The minute counted last and its counts: while it lasts, counting is one lookup and no allocation. */
  private minute = Number.NaN;
  private current: Minute = emptyMinute();
  private tokensHeld = 0;
  private prunedAt = -Infinity;
  private readonly turns = new Turns();

  constructor(
    private readonly store: Pick<Store, "bookkeeping">,
    private readonly log: Logger,
    private readonly retention: UsageRetention,
    private readonly now: () => number,
    /** Hands on the uses still counted in place (usage/tallies.ts): called before a flush. */
    private readonly settle: () => void = () => undefined,
    private readonly capacity = TOKEN_CAPACITY,
  ) {}

  /** An authentication's outcome, from where metrics count it: a success by credential source, a failure by reason; at `at`, now by default. */
  outcome(outcome: "success" | "failure", reason: string, at = this.now(), count = 1): void {
    const minute = this.at(at);
    add(outcome === "success" ? minute.successes : minute.failures, reason, count);
  }

  /** A token's successful uses at `at`. */
  token(tokenId: string, at: number, count = 1): void {
    const { tokens } = this.at(at);
    const held = tokens.get(tokenId);
    if (held !== undefined) {
      tokens.set(tokenId, held + count);
    } else if (this.tokensHeld < this.capacity) {
      tokens.set(tokenId, count);
      this.tokensHeld++;
    } else {
      add(tokens, OVERFLOW_SERIES, count);
    }
  }

  /** A token's tallied uses, all in one minute: the server's successes by source, and the token's own. */
  received({ tokenId, source, count, minute }: Readonly<Tally>): void {
    this.outcome("success", source, minute, count);
    this.token(tokenId, minute, count);
  }

  private at(time: number): Minute {
    const minute = Math.floor(time / bucketMs["1m"]);
    if (minute === this.minute) return this.current;
    let counts = this.minutes.get(minute);
    if (counts === undefined) this.minutes.set(minute, (counts = emptyMinute()));
    this.minute = minute;
    this.current = counts;
    return counts;
  }

  /**
   * Writes the counts (kept on failure, and the error rethrown), and prunes once a minute. Flushes
   * take turns, so a reader that flushes first sees every count taken before it, written.
   */
  flush(): Promise<void> {
    return this.turns.take(() => this.flushOnce());
  }

  private async flushOnce(): Promise<void> {
    this.settle();
    const now = this.now();
    if (this.minutes.size > 0) await this.write();
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      await this.store.bookkeeping((tx) => pruneBuckets(tx, this.retention, now));
      this.prunedAt = now;
    }
  }

  private async write(): Promise<void> {
    const taken = this.minutes;
    this.minutes = new Map();
    this.minute = Number.NaN;
    this.tokensHeld = 0;
    const rows = new Map<string, BucketRow>();
    for (const [minute, counts] of taken) rollUp(minute * bucketMs["1m"], counted(counts), rows);
    try {
      await this.store.bookkeeping((tx) => addToBuckets(tx, Array.from(rows, ([, row]) => row)));
    } catch (error) {
      this.keep(taken);
      throw error;
    }
    const overflowed = sumOver(taken, (tokens) => tokens.get(OVERFLOW_SERIES) ?? 0);
    if (overflowed > 0) this.log.warn("more tokens were used at once than the usage series hold: some uses count for the server only", { uses: overflowed });
  }

  /** Puts back counts whose write failed, merged with those counted meanwhile. */
  private keep(taken: Map<number, Minute>): void {
    for (const [minute, counts] of taken) {
      let into = this.minutes.get(minute);
      if (into === undefined) this.minutes.set(minute, (into = emptyMinute()));
      for (const [reason, count] of counts.successes) add(into.successes, reason, count);
      for (const [reason, count] of counts.failures) add(into.failures, reason, count);
      for (const [series, count] of counts.tokens) add(into.tokens, series, count);
    }
    this.tokensHeld = sumOver(this.minutes, (tokens) => tokens.size);
  }
}
