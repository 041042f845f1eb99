import type { Database } from "bun:sqlite";
import { AsyncLocalStorage } from "node:async_hooks";
import { createTableRelationsHelpers, extractTablesRelationalConfig } from "drizzle-orm";
import { drizzle, SQLiteBunSession, SQLiteBunTransaction } from "drizzle-orm/bun-sqlite";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { ChangeMonitor } from "./changes";
import type { Db, Transaction } from "./client";
import { WriteInProgressError } from "./errors";
import * as schema from "./schema";
import { Turns } from "../lib/turns";

/** One write: its statements are refused once it has ended. */
interface OpenWrite {
  /** Bookkeeping: its statements leave the caches alone. */
  quiet: boolean;
  ended: boolean;
  /** Whether it has written anything a cache may have read before its rollback. */
  wrote: boolean;
}

/**
 * Async write transactions on bun:sqlite's one connection. While a body awaits, other code runs on
 * that connection, inside the open transaction; these rules keep that correct:
 * - writes take turns (bookkeeping too), so no transaction ever nests in another;
 * - a body may await only its own queries on `tx`, so it settles within one turn of the event loop;
 *   one still running at the next macrotask (timers, I/O) is rolled back and fails;
 * - a statement on a `tx` whose write has ended is refused: it would run in no transaction, or in the next;
 * - a write on `db` while a transaction is open is refused (WriteInProgressError, a 503): it would
 *   commit, or roll back, with another caller's transaction.
 * A read on `db` meanwhile sees the open write's rows. Only code resumed in that same turn can read
 * then; the rows are committed a moment later, or rolled back with the caches emptied. A write hands
 * out what it makes (a secret) only after its commit. An answer given on rows read early stands even
 * if they are rolled back; a write fails after its first statement only on an internal error, and
 * what such a read can see is the change an admin asked for, a moment early.
 */
export class SqliteWrites {
  readonly db: Db;
  private readonly dialect = new SQLiteSyncDialect();
  private readonly relations;
  private readonly turns = new Turns();
  /** Writes queued or running: the connection closes only once there are none. */
  private pending = 0;
  private closing = false;
  /** The write whose body is running, across its awaits. */
  private readonly inside = new AsyncLocalStorage<OpenWrite>();
  private open: OpenWrite | null = null;

  constructor(
    private readonly sqlite: Database,
    private readonly changes: ChangeMonitor,
  ) {
    // drizzle's logger sees every statement before it runs: the one place every write passes.
    this.db = drizzle({ client: sqlite, schema, logger: { logQuery: (sql) => this.outside(sql) } });
    const tables = extractTablesRelationalConfig<Db["_"]["schema"] & object>(schema, createTableRelationsHelpers);
    this.relations = { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };
  }

  /** Runs `work` in a transaction of its own once the writes before it have ended. */
  run<T>(work: (tx: Transaction) => T | Promise<T>, quiet: boolean): Promise<T> {
    // Queued behind the write it is part of, it would wait for ever; what it meant belongs in that write.
    if (this.inside.getStore()?.ended === false) return Promise.reject(new Error("a write started inside another write's body; write through its tx instead"));
    if (this.closing) return Promise.reject(new Error("the database is closing"));
    this.pending++;
    return this.turns.take(() => this.transact(work, quiet).finally(() => this.pending--));
  }

  /**
   * Closes the connection once the writes already asked for have ended (at once when none are),
   * refusing new ones: a write still running at a stop would otherwise meet a closed handle half-way.
   * Statements are finalized and the WAL checkpointed, not left until they are collected.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pending > 0) await this.turns.ended();
    this.sqlite.close(true);
  }

  /**
   * Takes the write lock at BEGIN (IMMEDIATE). With the server and a CLI on one file, a deferred
   * transaction that reads and then writes can fail at once with SQLITE_BUSY when the other
   * process wrote in between; an immediate one waits its turn (busy_timeout).
   */
  private async transact<T>(work: (tx: Transaction) => T | Promise<T>, quiet: boolean): Promise<T> {
    this.sqlite.run("BEGIN IMMEDIATE");
    const write: OpenWrite = { quiet, ended: false, wrote: false };
    this.open = write;
    try {
      const result = await withinOneTurn(this.inside.run(write, () => work(this.transaction(write))));
      this.sqlite.run("COMMIT");
      return result;
    } catch (error) {
      if (this.sqlite.inTransaction) this.sqlite.run("ROLLBACK");
      // A cache may have read the rolled-back rows meanwhile; a write refused before it wrote (a
      // name taken, a token not found) leaves them be, or any such refusal would empty them all.
      if (write.wrote && !quiet) this.changes.changed();
      throw error;
    } finally {
      write.ended = true;
      this.open = null;
    }
  }

  /** A drizzle transaction of its own per write, so that its statements can be told from others'. */
  private transaction(write: OpenWrite): Transaction {
    const logger = {
      logQuery: (sql: string) => {
        if (write.ended) throw new Error("a statement of a write transaction that has ended");
        if (!sql.startsWith("select")) write.wrote = true;
        if (!write.quiet) this.changes.statement(sql);
      },
    };
    const session = new SQLiteBunSession(this.sqlite, this.dialect, this.relations, { logger });
    return new SQLiteBunTransaction("sync", this.dialect, session, this.relations) as unknown as Transaction;
  }

  private outside(sql: string): void {
    if (sql.startsWith("select")) return;
    if (this.open !== null) throw new WriteInProgressError();
    this.changes.statement(sql);
  }
}

/** The body's result, or a failure if it is still running at the next macrotask (see SqliteWrites). */
function withinOneTurn<T>(body: T | Promise<T>): Promise<T> {
  if (!(body instanceof Promise)) return Promise.resolve(body);
  return new Promise<T>((resolve, reject) => {
    const late = setImmediate(() => reject(new Error("a write transaction's body awaited something other than its queries; it was rolled back")));
    body.then(
      (value) => {
        clearImmediate(late);
        resolve(value);
      },
      (error: unknown) => {
        clearImmediate(late);
        reject(error);
      },
    );
  });
}
