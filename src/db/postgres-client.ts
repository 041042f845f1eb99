import { SQL } from "bun";
import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sql";
import { displayDb } from "../config-db";
import { DatabaseError, type Db, type FirstRowQuery, type Lookup, type Store, type Transaction } from "./client";
import { PgChangeMonitor } from "./postgres-changes";
import { type MigrationReport, SchemaTooNewError } from "./migrate";
import { LOCK, migratePostgres } from "./postgres-migrate";
import * as schema from "./schema-postgres";
import { Turns } from "../lib/turns";

/** A PostgreSQL store: its pool too, for what only src/db does (migrations, backups, the change signal). */
export interface PostgresStore extends Store {
  engine: "postgres";
  sql: SQL;
}

export interface PostgresOptions {
  /** The clock callers pass to changes.current(): a test's, which it advances, rather than Date.now. */
  clock?: () => number;
}

/** A write's own state, seen by the logger through its awaits. */
interface OpenWrite {
  wrote: boolean;
  ended: boolean;
}

/**
 * Connects to PostgreSQL, brings the schema up to date (the change signal is part of it) and
 * starts following the changes other instances make. Queries are the ones written for SQLite
 * (see tablesOf): drizzle's PostgreSQL database is handed out as the same `Db`, its tables having
 * the same names and row types (test/db/schema-parity.test.ts).
 */
export async function openPostgres(url: string, { clock }: PostgresOptions = {}): Promise<{ store: PostgresStore; migration: MigrationReport }> {
  let client: SQL;
  try {
    // int8 as strings (bigint: false) never reaches a query's result: counts are mapped to numbers.
    client = new SQL(url, { max: 10, bigint: false, connectionTimeout: 5, idleTimeout: 60 });
  } catch (error) {
    // Bun refuses some URLs here, before connecting (an unknown sslmode): one line, not a stack.
    throw new DatabaseError(`cannot open database ${displayDb(url)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const inside = new AsyncLocalStorage<OpenWrite>();
  const db = drizzle({
    client,
    schema,
    logger: {
      logQuery(statement) {
        // drizzle's own statements, lower case; the upper-case ones are this file's (locks, settings).
        if (!/^(insert|update|delete) /.test(statement)) return;
        const write = inside.getStore();
        // One way to write, as on SQLite: outside a write transaction no cache would learn of it.
        if (write === undefined || write.ended) throw new Error("a write statement outside Store.write; write through its tx");
        write.wrote = true;
      },
    },
  }) as unknown as Db;
  const changes = new PgChangeMonitor(client, { clock });
  let migration: MigrationReport;
  try {
    migration = await migratePostgres(client);
    await changes.start();
  } catch (error) {
    await changes.close();
    await client.close({ timeout: 1 });
    if (error instanceof SchemaTooNewError) throw error;
    throw new DatabaseError(`cannot open database ${displayDb(url)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const writes = new PgWrites(db, changes, inside);
  const store: PostgresStore = {
    engine: "postgres",
    sql: client,
    db,
    changes,
    write: (work) => writes.run(work, false),
    bookkeeping: (work) => writes.run(work, true),
    lookup: pgLookup,
    async close() {
      await writes.drain();
      await changes.close();
      await client.close({ timeout: 5 });
    },
  };
  return { store, migration };
}

/**
 * Write transactions: one at a time per process (a queue), and one at a time across every
 * instance and CLI (an advisory lock taken first), so what a write reads is still so when it
 * writes, as under SQLite's write lock. The queue keeps waiting writers from holding pool
 * connections the reads need.
 */
class PgWrites {
  private readonly turns = new Turns();
  private closing = false;

  constructor(
    private readonly db: Db,
    private readonly changes: PgChangeMonitor,
    private readonly inside: AsyncLocalStorage<OpenWrite>,
  ) {}

  run<T>(work: (tx: Transaction) => T | Promise<T>, quiet: boolean): Promise<T> {
    // Code scheduled from a write's body keeps its context after it ends: only a running one counts.
    if (this.inside.getStore()?.ended === false) return Promise.reject(new Error("a write started inside another write's body; write through its tx instead"));
    if (this.closing) return Promise.reject(new Error("the database is closing"));
    return this.turns.take(() => this.transact(work, quiet));
  }

  async drain(): Promise<void> {
    this.closing = true;
    await this.turns.ended();
  }

  private async transact<T>(work: (tx: Transaction) => T | Promise<T>, quiet: boolean): Promise<T> {
    const write: OpenWrite = { wrote: false, ended: false };
    const pg = this.db as unknown as { transaction<R>(body: (tx: Transaction & PgExecute) => Promise<R>): Promise<R> };
    const result = await this.inside
      .run(write, () =>
        pg.transaction(async (tx) => {
          // Bounded: a writer stuck elsewhere makes this one fail (a 503) rather than wait for ever.
          await tx.execute(sql`SET LOCAL lock_timeout = '10s'`);
          await tx.execute(sql`SELECT pg_advisory_xact_lock(${LOCK.space}::int4, ${LOCK.write}::int4)`);
          // The change trigger stays quiet for bookkeeping (usage counts, sightings, audit, pruning).
          if (quiet) await tx.execute(sql`SET LOCAL keyward.bookkeeping = 'on'`);
          return work(tx);
        }),
      )
      .finally(() => {
        write.ended = true;
        // Another connection may have cached the rows as they were until the commit: drop them
        // now (after a failure too: a commit whose answer was lost may have happened).
        if (write.wrote && !quiet) this.changes.changed();
      });
    return result;
  }
}

interface PgExecute {
  execute(query: ReturnType<typeof sql>): Promise<unknown>;
}

let lookups = 0;

/** A point lookup on PostgreSQL: a promise, always (the hot path awaits only on a cache miss). */
function pgLookup<R>(query: FirstRowQuery<R>): Lookup<R> {
  const prepared = (query as unknown as { prepare(name: string): { execute(values: Record<string, unknown>): Promise<R[]> } }).prepare(`keyward_lookup_${++lookups}`);
  return async (values) => (await prepared.execute(values))[0];
}
