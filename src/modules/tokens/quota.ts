import { eq } from "drizzle-orm";
import { ChangeBoundCache } from "../../db/change-bound-cache";
import { tablesOf, type Db, type Store, type Transaction } from "../../db/client";
import { recordAudit } from "../audit/service";
import { quotaAt } from "./limits";

/** A spent use and how many are left, or none left and when a refill brings more (null: never). */
export type Spent = { ok: true; remaining: number | null } | { ok: false; retryAfterMs: number | null };

/**
 * How far a spend follows rotations: a rotated token in its grace period spends its successor's
 * uses. A daily rotation with a 30-day grace keeps 30 behind the newest; past this the old one
 * spends nothing (refused, failing closed).
 */
const MAX_HOPS = 64;

/**
 * Usage quotas. A use is spent durably before the request is answered, in a bookkeeping write
 * (the caches keep their entries: a spend is no change they hold): writes take turns in this
 * process and across instances, so 20 requests at once with 5 uses left let exactly 5 through,
 * and an answer given was always paid for, whatever crash follows. The count lives in the
 * database only; what is remembered here is that a token has none left until its next refill,
 * so a client hammering an exhausted token costs no write (forgotten on any change, a restore).
 */
export class Quotas {
  private readonly exhausted;

  constructor(
    private readonly store: Pick<Store, "bookkeeping" | "changes">,
    capacity = 10_000,
  ) {
    this.exhausted = new ChangeBoundCache<number>(store.changes, capacity);
  }

  spend(tokenId: string, now: number): Promise<Spent> {
    const until = this.exhausted.get(tokenId, now);
    if (until !== undefined && now < until) return Promise.resolve({ ok: false, retryAfterMs: until === Infinity ? null : until - now });
    const readUnder = this.exhausted.current(now);
    return this.store
      .bookkeeping((tx) => spendIn(tx, tokenId, now))
      .then((spent) => {
        if (!spent.ok) this.exhausted.set(tokenId, spent.retryAfterMs === null ? Infinity : now + spent.retryAfterMs, readUnder, now);
        return spent;
      });
  }
}

/** The row whose uses `tokenId` spends: its own, or once rotated, its successor's. */
async function quotaRow(db: Db | Transaction, tokenId: string) {
  const { tokens } = tablesOf(db);
  let id = tokenId;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const [row] = await db
      .select({
        user: tokens.user,
        replacedBy: tokens.replacedBy,
        remainingUses: tokens.remainingUses,
        refillUses: tokens.refillUses,
        refillEveryMs: tokens.refillEveryMs,
        refilledAt: tokens.refilledAt,
      })
      .from(tokens)
      .where(eq(tokens.id, id));
    if (row === undefined) return null;
    if (row.replacedBy === null) return { id, row };
    id = row.replacedBy;
  }
  return null;
}

/**
 * Spends one use of `tokenId` (or of the token it was rotated to), applying a refill that fell
 * due: decremented only while above zero. The write that takes the last use audits it, once.
 */
export async function spendIn(tx: Transaction, tokenId: string, now: number): Promise<Spent> {
  const found = await quotaRow(tx, tokenId);
  if (found === null) return { ok: false, retryAfterMs: null };
  const { id, row } = found;
  const quota = quotaAt(row, now);
  if (quota.remaining === null) return { ok: true, remaining: null };
  if (quota.remaining === 0) return { ok: false, retryAfterMs: quota.nextRefillAt === null ? null : quota.nextRefillAt - now };
  const remaining = quota.remaining - 1;
  const { tokens } = tablesOf(tx);
  await tx
    .update(tokens)
    .set(quota.refilledAt === null ? { remainingUses: remaining } : { remainingUses: remaining, refilledAt: new Date(quota.refilledAt) })
    .where(eq(tokens.id, id));
  if (remaining === 0) {
    const next = quota.nextRefillAt === null ? "no refill" : `next refill ${new Date(quota.nextRefillAt).toISOString()}`;
    await recordAudit(tx, { action: "token.quota_exhausted", actor: "system", user: row.user, tokenId: id, detail: `no uses left, ${next}` }, new Date(now));
  }
  return { ok: true, remaining };
}

/** The uses a token has left at `now` (a due refill applied), read without spending: for introspection. */
export async function remainingUses(db: Db, tokenId: string, now: number): Promise<number | null> {
  const found = await quotaRow(db, tokenId);
  return found === null ? 0 : quotaAt(found.row, now).remaining;
}
