import { and, asc, desc, eq, gt, lt, lte, max, or, sql } from "drizzle-orm";
import { tablesOf, type Store, type Transaction } from "../../db/client";
import { WriteBehind } from "../../db/write-behind";
import type { Logger } from "../../log";

/** How often locks taken here are written and those taken elsewhere loaded: a lock reaches every instance within about two of these. */
const SHARE_INTERVAL_MS = 250;
/**
 * Rows kept, besides the newest write's. A stranger can lock many keys (a name or an address each,
 * every `max` failures): past this many, the rows that end soonest are dropped first. Those locks
 * still hold on the instance that took them, and on any that loaded them already.
 */
const MAX_ROWS = 10_000;
/** Distinct keys locked here between two writes; past it they are logged, not shared (each took `max` failures). */
const BATCH = 1_000;
const UNSHARED = "";
/** Rows per INSERT: three parameters each, well under either engine's limit. */
const ROWS_PER_INSERT = 500;

/** Where the locks read back are installed (the Lockout). */
export interface LockTarget {
  install(key: string, until: number): void;
}

/**
 * Lockouts shared by the servers on one database (one SQLite file, or PostgreSQL). Failures are
 * counted in memory, per instance: a failed guess costs no write. A key this instance locks is
 * written, as bookkeeping, a moment later; every instance loads what was written since it last
 * looked and locks those keys as well. Each round of writing and
 * loading runs off the request path, on an unref'd timer, so the hot path stays synchronous.
 *
 * Readers follow `noted_at`, never their own clocks: each write takes the write lock (shared by
 * every instance and CLI) and gives its rows a `noted_at` past every one already there, so they
 * grow in commit order even when the instances' clocks disagree, and a reader that asks for what
 * is newer than the last row it saw misses none.
 */
export class SharedLockouts {
  private readonly buffer: WriteBehind<number>;
  /** The newest `noted_at` loaded; null before the first load, which reads every row. */
  private cursor: Date | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private round: Promise<void> | null = null;
  private failing = false;
  private target: LockTarget | null = null;

  constructor(
    private readonly store: Pick<Store, "db" | "bookkeeping">,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly maxRows = MAX_ROWS,
  ) {
    this.buffer = new WriteBehind<number>(store, {
      capacity: BATCH,
      merge: (earlier, later) => Math.max(earlier, later),
      overflow: (_, until) => [UNSHARED, until],
      write: (tx, batch) => this.write(tx, batch),
    });
  }

  /** A key locked here, until `until`: written at the next round. */
  note(key: string, until: number): void {
    this.buffer.add(key, until);
  }

  /** Writes the locks noted here; on failure they are kept for the next round and the error is rethrown. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  /** Installs into `target` every lock noted since the last load (all of them at the first). */
  async load(target: LockTarget): Promise<void> {
    const { authLockouts } = tablesOf(this.store.db);
    const rows = await this.store.db
      .select()
      .from(authLockouts)
      .where(this.cursor === null ? undefined : gt(authLockouts.notedAt, this.cursor))
      .orderBy(asc(authLockouts.notedAt));
    for (const row of rows) target.install(row.key, row.until.getTime());
    if (rows.length > 0) this.cursor = rows.at(-1)!.notedAt;
  }

  /** Starts the rounds: every `intervalMs`, write what was noted here, then load what was noted elsewhere. */
  follow(target: LockTarget, intervalMs = SHARE_INTERVAL_MS): void {
    this.target = target;
    this.timer = setInterval(() => void this.tick(), intervalMs);
    // A lockout is no reason to keep a process alive (the CLI, a test).
    this.timer.unref();
  }

  /**
   * One round; never two at once. A database error is logged once, when the rounds start failing,
   * and again when they recover: the next round retries, and nothing is thrown.
   */
  tick(): Promise<void> {
    this.round ??= this.runRound().finally(() => (this.round = null));
    return this.round;
  }

  /** Ends the rounds once the one under way is done: before the last flush, and the store's close. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.round;
  }

  private async runRound(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of [() => this.flush(), () => (this.target ? this.load(this.target) : undefined)]) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0 && !this.failing) this.log.error("could not share lockouts with the other instances; retrying", { error: String(errors[0]) });
    if (errors.length === 0 && this.failing) this.log.info("sharing lockouts with the other instances again");
    this.failing = errors.length > 0;
  }

  private async write(tx: Transaction, batch: ReadonlyMap<string, number>): Promise<void> {
    const { authLockouts } = tablesOf(tx);
    if (batch.has(UNSHARED)) this.log.warn("more keys were locked at once than are shared in one round: some locks hold on this instance only");
    const [{ last } = { last: null }] = await tx.select({ last: max(authLockouts.notedAt) }).from(authLockouts);
    const notedAt = new Date(Math.max(this.now(), (last?.getTime() ?? 0) + 1));
    const rows = [...batch].filter(([key]) => key !== UNSHARED).map(([key, until]) => ({ key, until: new Date(until), notedAt }));
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      await tx
        .insert(authLockouts)
        .values(rows.slice(i, i + ROWS_PER_INSERT))
        .onConflictDoUpdate({
          target: authLockouts.key,
          // The later end wins, whoever wrote it.
          set: { until: sql`CASE WHEN excluded."until" > ${authLockouts.until} THEN excluded."until" ELSE ${authLockouts.until} END`, notedAt },
        });
    }
    // This write's rows stay: the newest noted_at must never go, or a later writer could fall behind a reader.
    const older = lt(authLockouts.notedAt, notedAt);
    await tx.delete(authLockouts).where(and(older, lt(authLockouts.until, new Date(this.now()))));
    const [edge] = await tx
      .select({ until: authLockouts.until, key: authLockouts.key })
      .from(authLockouts)
      .where(older)
      .orderBy(desc(authLockouts.until), desc(authLockouts.key))
      .limit(1)
      .offset(this.maxRows);
    if (edge) {
      const endsSooner = or(lt(authLockouts.until, edge.until), and(eq(authLockouts.until, edge.until), lte(authLockouts.key, edge.key)));
      await tx.delete(authLockouts).where(and(older, endsSooner));
    }
  }
}
