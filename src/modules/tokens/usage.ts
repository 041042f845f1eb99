import { eq, sql } from "drizzle-orm";
import { writeTransaction, type Db } from "../../db/client";
import { tokens } from "../../db/schema";

interface Pending {
  count: number;
  lastUsedAt: number;
  lastIp: string;
}

/**
 * Counts token uses in memory and writes them in one transaction per flush (every second, and at
 * shutdown), so authenticating a request never costs a database write.
 */
export class UsageTracker {
  private pending = new Map<string, Pending>();

  constructor(private readonly db: Db) {}

  record(tokenId: string, ip: string, at = Date.now()): void {
    const entry = this.pending.get(tokenId);
    if (entry) {
      entry.count++;
      entry.lastUsedAt = at;
      entry.lastIp = ip;
    } else {
      this.pending.set(tokenId, { count: 1, lastUsedAt: at, lastIp: ip });
    }
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.write(batch);
    } catch (error) {
      // Keep the counts for the next flush rather than lose them (the database may be busy).
      for (const [id, use] of batch) {
        const newer = this.pending.get(id);
        this.pending.set(id, newer ? { ...newer, count: newer.count + use.count } : use);
      }
      throw error;
    }
  }

  private write(batch: Map<string, Pending>): void {
    writeTransaction(this.db, (tx) => {
      for (const [id, use] of batch) {
        tx.update(tokens)
          .set({
            requestCount: sql`${tokens.requestCount} + ${use.count}`,
            lastUsedAt: new Date(use.lastUsedAt),
            lastIp: use.lastIp,
          })
          .where(eq(tokens.id, id))
          .run();
      }
    });
  }
}
