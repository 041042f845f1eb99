import type { Granted, Principal } from "../tokens/verifier";
import { bucketMs, bucketStart } from "./buckets";

/** Tallies counted since the last settling, past which a token's use goes straight to the receivers: far more distinct tokens than a LAN uses in a second. */
const CAPACITY = 100_000;
// The series' own minute, read once: the range check runs on every use.
const MINUTE_MS = bucketMs["1m"];

/** One token's successful uses since its counts were last handed on, all in one minute of the clock. */
export interface Tally {
  readonly tokenId: string;
  readonly source: Principal["source"];
  count: number;
  /** When the minute the uses fall in began (ms): a use in another minute hands the tally on first. */
  minute: number;
  lastUsedAt: number;
  /** The address of the first use counted in this tally (asking costs a system call). */
  lastIp: string;
  listed: boolean;
}

/** Who takes a tally's counts: the usage per token, the series over time, the metrics' totals. */
export interface TallyReceiver {
  received(tally: Readonly<Tally>): void;
}

const tallyOf = Symbol("keyward.tally");
type Tallied = Granted & { [tallyOf]?: Tally };

/**
 * Counts a token's successful uses in place, on the object the verifier hands out for it, and hands
 * them on to every receiver when one of them is about to read (`settle`). Counting a use three
 * ways (per token, per minute, per credential source) in three keyed maps cost about 3% of GET
 * /data's throughput; here a use is two field writes. A use in a new minute first hands on what
 * the tally holds, so the series still puts each use in its own minute.
 */
export class Tallies {
  private listed: Tally[] = [];
  private receivers: readonly TallyReceiver[] = [];

  constructor(private readonly capacity = CAPACITY) {}

  /** The receivers, each handed every tally once it settles; set once they exist (they settle through this). */
  deliverTo(receivers: readonly TallyReceiver[]): void {
    this.receivers = receivers;
  }

  /** A token's successful use at `at`; its address is asked for only at the tally's first use. */
  count(granted: Granted, at: number, address: () => string): void {
    const tally = (granted as Tallied)[tallyOf] ?? this.start(granted);
    if (tally.count > 0) {
      if (at >= tally.minute && at < tally.minute + MINUTE_MS) {
        tally.count++;
        tally.lastUsedAt = at;
        return;
      }
      this.handOn(tally);
    }
    tally.count = 1;
    tally.lastUsedAt = at;
    tally.minute = bucketStart(at, "1m");
    tally.lastIp = address();
    if (tally.listed) return;
    if (this.listed.length < this.capacity) {
      tally.listed = true;
      this.listed.push(tally);
    } else {
      this.handOn(tally);
    }
  }

  /** Hands every tally's counts to the receivers: called by each receiver before it reads or writes them. */
  readonly settle = (): void => {
    if (this.listed.length === 0) return;
    const listed = this.listed;
    this.listed = [];
    for (const tally of listed) {
      tally.listed = false;
      if (tally.count > 0) this.handOn(tally);
    }
  };

  private start(granted: Granted): Tally {
    const { tokenId, source } = granted.principal;
    const tally: Tally = { tokenId, source, count: 0, minute: 0, lastUsedAt: 0, lastIp: "", listed: false };
    (granted as Tallied)[tallyOf] = tally;
    return tally;
  }

  private handOn(tally: Tally): void {
    for (const receiver of this.receivers) receiver.received(tally);
    tally.count = 0;
  }
}
