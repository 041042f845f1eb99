import { and, eq, type SQL } from "drizzle-orm";
import { writeTransaction, type Db } from "../../db/client";
import { Keyset, type Page, type PageRequest } from "../../db/pagination";
import { auditEvents } from "../../db/schema";
import { normalizeUser } from "../../lib/names";

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

export interface AuditFilter extends PageRequest {
  /** A user name, or a device id for device events. */
  user?: string;
  action?: string;
}

/**
 * Newest first by time (queued failures are written after the fact, so ids alone are not time
 * order), the id breaking ties.
 */
const keyset = new Keyset<AuditRow>("audit", auditEvents.at, auditEvents.id, (row) => [row.at, row.id]);

/** Device events name the device by its id, which is case-sensitive; any other subject is a user name. */
const subject = (text: string) => (/^dev_[0-9A-Za-z]{16}$/.test(text.trim()) ? text.trim() : normalizeUser(text));

/** One page of the audit log, newest first. */
export function listAudit(db: Db, filter: AuditFilter): Page<AuditRow> {
  const { after, order, fetch } = keyset.plan(filter);
  const where: (SQL | undefined)[] = [after];
  if (filter.user !== undefined) where.push(eq(auditEvents.user, subject(filter.user)));
  if (filter.action !== undefined) where.push(eq(auditEvents.action, filter.action));
  return keyset.page(db.select().from(auditEvents).where(and(...where)).orderBy(...order).limit(fetch).all(), filter);
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
