import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { tablesOf, type Store } from "../../db/client";
import { WriteBehind } from "../../db/write-behind";
import type { Logger } from "../../log";

interface Use {
  count: number;
  lastUsedAt: number;
  lastIp: string;
}

/** Only tokens that verified are counted, so this many distinct ones in a second is far past a LAN's. */
const CAPACITY = 100_000;
const UNATTRIBUTED = "";

/**
 * Counts token uses in memory and writes them in one transaction per flush (every second, and at
 * shutdown), so authenticating a request never costs a database write.
 */
export class UsageTracker {
  private readonly buffer;

  constructor(store: Pick<Store, "bookkeeping">, log: Logger, capacity = CAPACITY) {
    this.buffer = new WriteBehind<Use>(store, {
      capacity,
      merge: (earlier, later) => ({ ...later, count: earlier.count + later.count }),
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

  /**
   * On every authenticated request: a token already counted in this flush window is changed in
   * place, allocating nothing. Its address is asked for only at its first use in the window (asking
   * costs a system call), so `last_ip` is the first address a token was used from in its last
   * flush window: the same as the last one for a client that does not move within a second.
   */
  record(tokenId: string, at: number, address: () => string): void {
    const use = this.buffer.held(tokenId);
    if (use === undefined) {
      this.buffer.add(tokenId, { count: 1, lastUsedAt: at, lastIp: address() });
      return;
    }
    use.count++;
    use.lastUsedAt = at;
  }

  /** Writes the counts; on failure they are kept for the next flush and the error is rethrown. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }
}
