import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { tablesOf, type Store } from "../../db/client";
import { WriteBehind } from "../../db/write-behind";
import type { Logger } from "../../log";
import type { Tally, TallyReceiver } from "../usage/tallies";

interface Use {
  count: number;
  lastUsedAt: number;
  lastIp: string;
}

/** Only tokens that verified are counted, so this many distinct ones in a second is far past a LAN's. */
const CAPACITY = 100_000;
const UNATTRIBUTED = "";

/**
 * Token uses, taken from their tallies (usage/tallies.ts) and written in one transaction per flush
 * (every second, and at shutdown), so authenticating a request never costs a database write.
 * `last_ip` is the address of a token's first use in its tally: the first use in a flush window,
 * the same as the last one for a client that does not move within a second.
 */
export class UsageTracker implements TallyReceiver {
  private readonly buffer;

  constructor(
    store: Pick<Store, "bookkeeping">,
    log: Logger,
    /** Hands on the uses still counted in place: called before a flush. */
    private readonly settle: () => void = () => undefined,
    capacity = CAPACITY,
  ) {
    this.buffer = new WriteBehind<Use>(store, {
      capacity,
      // Two tallies of one token in a window (a new minute, or its cache entry made again): the latest use's time and address.
      merge: (earlier, later) => ({ ...(later.lastUsedAt >= earlier.lastUsedAt ? later : earlier), count: earlier.count + later.count }),
      overflow: (_, use) => [UNATTRIBUTED, use],
      async write(tx, batch) {
        const { tokens } = tablesOf(tx);
        for (const [id, use] of batch) {
          if (id === UNATTRIBUTED) {
            log.warn("more tokens were used at once than the usage buffer holds: some uses were not counted per token", { uses: use.count });
            continue;
          }
          const at = new Date(use.lastUsedAt);
          await tx.update(tokens).set({ requestCount: sql`${tokens.requestCount} + ${use.count}` }).where(eq(tokens.id, id));
          // Instances sharing a database flush in any order: the last use stays the latest one.
          await tx
            .update(tokens)
            .set({ lastUsedAt: at, lastIp: use.lastIp })
            .where(and(eq(tokens.id, id), or(isNull(tokens.lastUsedAt), lt(tokens.lastUsedAt, at))));
        }
      },
    });
  }

  received({ tokenId, count, lastUsedAt, lastIp }: Readonly<Tally>): void {
    this.buffer.add(tokenId, { count, lastUsedAt, lastIp });
  }

  /** Writes the counts; on failure they are kept for the next flush and the error is rethrown. */
  flush(): Promise<void> {
    this.settle();
    return this.buffer.flush();
  }
}
