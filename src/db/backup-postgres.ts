import { randomBytes } from "node:crypto";
import { linkSync, rmSync, statSync } from "node:fs";
import { asc, type Column, getTableColumns, getTableName, gt, is, type SQL, sql } from "drizzle-orm";
import { getTableConfig as pgConfig, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { DomainError } from "../lib/errors";
import { refuseExisting, stageBackup } from "./backup";
import { type Db, DatabaseError, openDatabase, tablesOf, type Transaction } from "./client";
import { migrate } from "./migrate";
import type { PostgresStore } from "./postgres-client";

/**
 * Backup and restore on PostgreSQL, in Keyward's one portable format: the SQLite backup file
 * (checkBackup and the SQLite migrations read and upgrade it). Rows pass through drizzle on both
 * sides with the same property names and types, so dates, booleans and JSON convert on their own.
 */

/** Rows read per query: what a backup or a restore holds in memory at once. */
const PAGE = 1000;
/** Rows per INSERT: 500 rows of the widest table (16 columns) stay far below PostgreSQL's 65,535 parameters. */
const BATCH = 500;

type Row = Record<string, unknown>;
type Source = Db | Transaction;

type Key = { name: string; column: Column }[];

/** A table's primary key, the order its keyset pages follow: one column, or usage_buckets' several. */
function keyOf(table: SQLiteTable): Key {
  const columns = Object.entries(getTableColumns(table));
  const single = columns.filter(([, column]) => column.primary);
  const composite = (is(table, PgTable) ? pgConfig(table) : sqliteConfig(table)).primaryKeys[0]?.columns ?? [];
  const key = single.length > 0 ? single : composite.map((part) => columns.find(([, column]) => column.name === part.name)!);
  if (key.length === 0) throw new Error(`table ${getTableName(table)} has no primary key`);
  return key.map(([name, column]) => ({ name, column }));
}

/** Rows past `row` in key order: a row-value comparison, which both engines read through the key's index. */
function pastRow(key: Key, row: Row): SQL {
  if (key.length === 1) return gt(key[0]!.column, row[key[0]!.name]);
  const columns = sql.join(
    key.map(({ column }) => column),
    sql`, `,
  );
  const values = sql.join(
    key.map(({ name, column }) => sql.param(row[name], column)),
    sql`, `,
  );
  return sql`(${columns}) > (${values})`;
}

/** Every row of `table`, in primary-key order, a page at a time: memory stays bounded whatever the table's size. */
async function* pagesOf(from: Source, table: SQLiteTable): AsyncGenerator<Row[]> {
  const key = keyOf(table);
  let after: Row | undefined;
  for (;;) {
    const page: Row[] = await from
      .select()
      .from(table)
      .where(after === undefined ? undefined : pastRow(key, after))
      .orderBy(...key.map(({ column }) => asc(column)))
      .limit(PAGE);
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
    after = page.at(-1)!;
  }
}

/** The same table on another engine, by name (the two schemas hold the same tables, test/db/schema-parity.test.ts). */
function twin(on: Source, table: SQLiteTable): SQLiteTable {
  const name = getTableName(table);
  const found = tablesOf(on).tablesParentsFirst.find((t) => getTableName(t) === name);
  if (!found) throw new Error(`no table ${name} on the other side`);
  return found;
}

async function insertAll(into: Transaction, table: SQLiteTable, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) await into.insert(table).values(rows.slice(i, i + BATCH) as never);
}

/**
 * Writes one snapshot of the PostgreSQL database to `target`, a new SQLite file at this build's
 * schema. One REPEATABLE READ transaction reads every table, so writes other instances make
 * meanwhile are wholly in the backup or not at all. The file appears complete or not at all.
 */
export async function backupPostgres(store: PostgresStore, target: string): Promise<{ bytes: number }> {
  refuseExisting(target);
  const partial = `${target}.partial-${randomBytes(6).toString("hex")}`;
  const copy = openDatabase(partial);
  try {
    migrate(copy);
    const pg = store.db as unknown as { transaction<R>(body: (tx: Transaction) => Promise<R>, config: object): Promise<R> };
    await pg.transaction(
      async (tx) => {
        for (const table of tablesOf(tx).tablesParentsFirst) {
          for await (const page of pagesOf(tx, table)) await copy.write((into) => insertAll(into, twin(into, table), page));
        }
      },
      { isolationLevel: "repeatable read", accessMode: "read only" },
    );
    // One self-contained file: no -wal to lose when it is copied elsewhere.
    copy.sqlite.run("PRAGMA journal_mode = DELETE");
    await copy.close();
    // A hard link fails if the target appeared meanwhile, where a rename would replace it.
    linkSync(partial, target);
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "EEXIST") refuseExisting(target);
    throw error instanceof DatabaseError ? error : new DatabaseError(`cannot write the backup ${target}: ${(error as Error).message}`);
  } finally {
    await copy.close();
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${partial}${suffix}`, { force: true });
  }
  return { bytes: statSync(target).size };
}

/**
 * A row of the backup that cannot be read (malformed JSON) or stored (a NUL in text, a number past
 * int8: SQLSTATE classes 22 and 23) is the file's fault: one line, not a stack holding the rows' values.
 */
function refusedRow(backup: string, error: unknown): unknown {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const state = (cause as { errno?: unknown }).errno;
  const bad = cause instanceof SyntaxError || (typeof state === "string" && /^2[23]/.test(state));
  return bad ? new DomainError("invalid", "bad_backup", `${backup} cannot be restored: a row is refused: ${(cause as Error).message}`) : error;
}

export interface PostgresRestoreOptions {
  /** Where the contents replaced are kept, a backup file of their own. */
  keep: string;
  /** Runs in the restore's transaction once every row is in; a throw undoes the whole restore. */
  settle?: (tx: Transaction) => Promise<void>;
}

/**
 * Replaces the PostgreSQL database's contents with a checked backup file, in one write: running
 * instances read the old rows or the new, never a mix, and the change trigger tells each to drop
 * its caches at the commit. The current contents are backed up to `keep` first, inside that
 * write: no Keyward writer can slip a change in between, which would be in neither.
 */
export async function restorePostgres(store: PostgresStore, backup: string, { keep, settle }: PostgresRestoreOptions): Promise<{ keptAs: string; applied: string[] }> {
  refuseExisting(keep);
  const staged = await stageBackup(backup, `${keep}.restoring-${randomBytes(6).toString("hex")}`);
  let kept = false;
  try {
    await store.write(async (tx) => {
      await backupPostgres(store, keep);
      kept = true;
      const tables = tablesOf(tx).tablesParentsFirst;
      for (const table of [...tables].reverse()) await tx.delete(table);
      try {
        for (const table of tables) {
          for await (const page of pagesOf(staged.store.db, twin(staged.store.db, table))) await insertAll(tx, table, page);
        }
      } catch (error) {
        throw refusedRow(backup, error);
      }
      // Ids were written as they were: the identity continues after the highest, not at 1.
      const pg = tx as unknown as { execute(query: ReturnType<typeof sql>): Promise<unknown> };
      await pg.execute(sql`SELECT setval(pg_get_serial_sequence('audit_events', 'id'), coalesce(max(id), 0) + 1, false) FROM audit_events`);
      await settle?.(tx);
    });
    return { keptAs: keep, applied: staged.applied };
  } catch (error) {
    // Nothing was replaced: the copy of the unchanged contents would only be in the way of a retry.
    if (kept) rmSync(keep, { force: true });
    throw error;
  } finally {
    await staged.discard();
  }
}
