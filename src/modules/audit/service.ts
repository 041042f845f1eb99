import { and, asc, count, eq, inArray, lt, sql, type SQL } from "drizzle-orm";
import { tablesOf, type Db, type Store, type Transaction } from "../../db/client";
import { Keyset, type Page, type PageRequest } from "../../db/pagination";
import type { auditEvents } from "../../db/schema";
import { WriteBehind } from "../../db/write-behind";
import { normalizeUser } from "../../lib/names";
import { Turns } from "../../lib/turns";

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
  | "session.ended"
  | "device.enrolled"
  | "device.pending"
  | "device.approved"
  | "device.reset"
  | "device.revoked"
  | "device.labelled"
  | "device.token_issued"
  | "login.failed"
  | "auth.failed"
  | "auth.locked"
  | "token.quota_exhausted";

export interface AuditEntry {
  action: AuditAction;
  actor?: string | null;
  user?: string | null;
  tokenId?: string | null;
  ip?: string | null;
  detail?: string | null;
}

export type AuditRow = typeof auditEvents.$inferSelect;

export async function recordAudit(db: Transaction, entry: AuditEntry, at = new Date()): Promise<void> {
  const { auditEvents } = tablesOf(db);
  await db.insert(auditEvents).values({ ...entry, at });
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
const keyset = new Keyset<AuditRow>("audit", (row) => [row.at, row.id]);

/** Device events name the device by its id, which is case-sensitive; any other subject is a user name. */
const subject = (text: string) => (/^dev_[0-9A-Za-z]{16}$/.test(text.trim()) ? text.trim() : normalizeUser(text));

/** One page of the audit log, newest first. */
export async function listAudit(db: Db, filter: AuditFilter): Promise<Page<AuditRow>> {
  const { auditEvents } = tablesOf(db);
  const { after, order, fetch } = keyset.plan(filter, auditEvents.at, auditEvents.id);
  const where: (SQL | undefined)[] = [after];
  if (filter.user !== undefined) where.push(eq(auditEvents.user, subject(filter.user)));
  if (filter.action !== undefined) where.push(eq(auditEvents.action, filter.action));
  return keyset.page(await db.select().from(auditEvents).where(and(...where)).orderBy(...order).limit(fetch), filter);
}

/** Failures alike in all but time are one row per window of this length, with a count. */
export const AUDIT_WINDOW_MS = 60_000;
const QUEUE_CAPACITY = 10_000;
const PRUNE_EVERY_MS = 60_000;

export interface AuditRetention {
  /** Rows older than this are deleted; null keeps them whatever their age. */
  maxAgeMs: number | null;
  /** Past this many rows, the oldest are deleted. */
  maxRows: number;
}

interface Pending {
  entry: AuditEntry;
  /** The first of the events this stands for. */
  at: number;
  count: number;
}

/**
 * Events that can arrive at attack rates (failed authentications, lockouts) are queued and written
 * in one transaction per flush, so a flood of bad tokens is not a flood of disk writes or rows:
 * events of one address, action, detail, user and token within a window are one row with a count,
 * which later flushes add to. The queue is bounded: past it, events fold into one row per action
 * and window that counts them. A write that fails is retried at the next flush, never dropped.
 */
export class AuditQueue {
  private readonly buffer;
  /** Rows this process wrote for the current window, so later flushes add to them. */
  private rows = new Map<string, { id: number; window: number }>();
  /** Rows inserted by the flush under way: remembered in `rows` only once it commits. */
  private inserted = new Map<string, number>();
  private prunedAt = -Infinity;
  private readonly turns = new Turns();

  constructor(
    private readonly store: Pick<Store, "bookkeeping">,
    private readonly retention: AuditRetention,
    private readonly clock = Date.now,
    private readonly capacity = QUEUE_CAPACITY,
  ) {
    this.buffer = new WriteBehind<Pending>(store, {
      capacity,
      merge: (earlier, later) => ({ ...earlier, count: earlier.count + later.count }),
      overflow: (_, { entry, at, count }) => {
        const coarse = { action: entry.action, detail: "from more sources than the audit queue holds" };
        return [keyOf(coarse, at), { entry: coarse, at, count }];
      },
      write: async (tx, batch) => {
        for (const [key, pending] of batch) await this.write(tx, key, pending);
      },
    });
  }

  push(entry: AuditEntry): void {
    const at = this.clock();
    this.buffer.add(keyOf(entry, at), { entry, at, count: 1 });
  }

  /**
   * Writes the queue (kept on failure, and the error rethrown), and prunes once a minute. Flushes
   * take turns: each must learn the ids of the rows it inserted, and no other's.
   */
  flush(): Promise<void> {
    return this.turns.take(() => this.flushOnce());
  }

  private async flushOnce(): Promise<void> {
    const now = this.clock();
    this.inserted = new Map();
    await this.buffer.flush();
    const window = Math.floor(now / AUDIT_WINDOW_MS);
    for (const [key, row] of this.rows) if (row.window < window) this.rows.delete(key);
    for (const [key, id] of this.inserted) if (this.rows.size < this.capacity) this.rows.set(key, { id, window: windowOf(key) });
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      await this.store.bookkeeping((tx) => pruneAudit(tx, this.retention, now));
      this.prunedAt = now;
    }
  }

  private async write(tx: Transaction, key: string, { entry, at, count }: Pending): Promise<void> {
    const { auditEvents } = tablesOf(tx);
    const row = this.rows.get(key);
    if (row) {
      const [added] = await tx.update(auditEvents).set({ count: sql`${auditEvents.count} + ${count}` }).where(eq(auditEvents.id, row.id)).returning({ id: auditEvents.id });
      // The row may have been pruned meanwhile: then the count starts a new one.
      if (added) return;
    }
    const [inserted] = await tx.insert(auditEvents).values({ ...entry, at: new Date(at), count }).returning({ id: auditEvents.id });
    this.inserted.set(key, inserted!.id);
  }
}

function keyOf({ action, ip, user, tokenId, detail }: AuditEntry, at: number): string {
  return JSON.stringify([Math.floor(at / AUDIT_WINDOW_MS), action, ip ?? null, user ?? null, tokenId ?? null, detail ?? null]);
}

const windowOf = (key: string): number => JSON.parse(key)[0];

/** Deletes rows past the retention's age, then the oldest past its row cap. */
export async function pruneAudit(db: Transaction, { maxAgeMs, maxRows }: AuditRetention, now = Date.now()): Promise<void> {
  const { auditEvents } = tablesOf(db);
  if (maxAgeMs !== null) await db.delete(auditEvents).where(lt(auditEvents.at, new Date(now - maxAgeMs)));
  const rows = (await db.select({ n: count() }).from(auditEvents))[0]?.n ?? 0;
  if (rows <= maxRows) return;
  const oldest = db.select({ id: auditEvents.id }).from(auditEvents).orderBy(asc(auditEvents.at), asc(auditEvents.id)).limit(rows - maxRows);
  await db.delete(auditEvents).where(inArray(auditEvents.id, oldest));
}
