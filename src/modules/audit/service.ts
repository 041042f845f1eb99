import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import { writeTransaction, type Db } from "../../db/client";
import { auditEvents } from "../../db/schema";

export type AuditAction =
  | "admin.bootstrap"
  | "token.created"
  | "token.rotated"
  | "token.revoked"
  | "token.revoked_all"
  | "token.env_removed"
  | "user.created"
  | "user.updated"
  | "user.removed"
  | "device.enrolled"
  | "device.pending"
  | "device.approved"
  | "device.reset"
  | "device.revoked"
  | "device.labelled"
  | "device.token_issued"
  | "login.failed"
  | "auth.failed"
  | "auth.locked";

export interface AuditEntry {
  action: AuditAction;
  actor?: string | null;
  user?: string | null;
  tokenId?: string | null;
  ip?: string | null;
  detail?: string | null;
}

export type AuditRow = typeof auditEvents.$inferSelect;

export function recordAudit(db: Db, entry: AuditEntry, at = new Date()): void {
  db.insert(auditEvents).values({ ...entry, at }).run();
}

export interface AuditQuery {
  limit: number;
  before?: number;
  user?: string;
  action?: string;
}

/**
 * Newest first, by time (queued failures are written after the fact, so ids alone are not time
 * order); `before` is the id of the last event of the previous page.
 */
export function listAudit(db: Db, { limit, before, user, action }: AuditQuery): AuditRow[] {
  const filters: (SQL | undefined)[] = [];
  if (before !== undefined) {
    const pivot = db.select({ at: auditEvents.at }).from(auditEvents).where(eq(auditEvents.id, before)).get();
    filters.push(
      pivot
        ? or(lt(auditEvents.at, pivot.at), and(eq(auditEvents.at, pivot.at), lt(auditEvents.id, before)))
        : lt(auditEvents.id, before),
    );
  }
  if (user !== undefined) filters.push(eq(auditEvents.user, user));
  if (action !== undefined) filters.push(eq(auditEvents.action, action));
  return db
    .select()
    .from(auditEvents)
    .where(and(...filters))
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(limit)
    .all();
}

/**
 * Events that can arrive at attack rates (failed authentications) are queued and written in one
 * transaction per flush, so a flood of bad tokens does not become a flood of disk writes. The
 * queue is bounded: past it, events are counted and the count is recorded instead.
 */
export class AuditQueue {
  private pending: (AuditEntry & { at: Date })[] = [];
  private dropped = 0;

  constructor(
    private readonly db: Db,
    private readonly capacity = 10_000,
  ) {}

  push(entry: AuditEntry): void {
    if (this.pending.length >= this.capacity) {
      this.dropped++;
      return;
    }
    this.pending.push({ ...entry, at: new Date() });
  }

  flush(): void {
    if (this.pending.length === 0 && this.dropped === 0) return;
    const batch = this.pending;
    const dropped = this.dropped;
    this.pending = [];
    this.dropped = 0;
    writeTransaction(this.db, (tx) => {
      // Chunks keep each INSERT under SQLite's limit on bound parameters.
      for (let i = 0; i < batch.length; i += 1000) tx.insert(auditEvents).values(batch.slice(i, i + 1000)).run();
      if (dropped > 0) {
        tx.insert(auditEvents)
          .values({ action: "auth.failed", at: new Date(), detail: `${dropped} more failures not recorded one by one` })
          .run();
      }
    });
  }
}
