import { Database } from "bun:sqlite";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type Changes, ChangeMonitor } from "./changes";
import type * as schema from "./schema";
import { SqliteWrites } from "./sqlite-writes";

export type Db = BunSQLiteDatabase<typeof schema>;

/** The open database, as the rest of Keyward uses it: whatever engine holds the data. */
export interface Store {
  engine: "sqlite" | "postgres";
  /** Drizzle, for queries. */
  db: Db;
  /** Tells caches when the database changed, here or in another process. */
  changes: Changes;
  /**
   * A write transaction, the one way to write at all (a statement on `db` is a read). Writers take turns:
   * what `work` reads is still so when it writes. On SQLite `work` may await only its queries on
   * `tx` (see sqlite-writes.ts). A failure rolls it back, and the caches are emptied if it had written.
   */
  write<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T>;
  /** A write transaction of bookkeeping only (usage counts, sightings, failure events): caches keep their entries. */
  bookkeeping<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T>;
  /**
   * A point lookup prepared once, for the hot path's cache misses: the first row, synchronously on
   * SQLite (a miss costs no promise there), as a promise on PostgreSQL.
   */
  lookup<R>(query: FirstRowQuery<R>): Lookup<R>;
  /** Closes once the writes already asked for have ended; new ones are refused. */
  close(): Promise<void>;
}

/** A query whose first row a Lookup answers (a select with `sql.placeholder`s, not yet prepared). */
export interface FirstRowQuery<R> {
  prepare(): { get(values: Record<string, unknown>): R | undefined };
}

export type Lookup<R> = (values: Record<string, unknown>) => R | undefined | Promise<R | undefined>;

/** A SQLite store: its file and raw handle too, for what only src/db does (migrations, backups, pragmas). */
export interface SqliteStore extends Store {
  engine: "sqlite";
  path: string;
  sqlite: Database;
}

/** The database cannot be used; the message names the file and SQLite's reason. */
export class DatabaseError extends Error {}

/**
 * Opens (creating if needed) the database and sets the pragmas that let the server and a CLI
 * process share the file: WAL so readers never block the writer, a busy timeout so a second
 * writer waits instead of failing, NORMAL sync (durable at each WAL checkpoint, safe in WAL mode).
 * An unreadable or foreign file is reported, never rewritten.
 */
export function openDatabase(path: string): SqliteStore {
  if (path !== ":memory:") createDirectory(dirname(path));
  let sqlite: Database | undefined;
  try {
    sqlite = new Database(path, { create: true, readwrite: true, strict: true });
    sqlite.run("PRAGMA busy_timeout = 5000");
    sqlite.run("PRAGMA foreign_keys = ON");
    sqlite.run("PRAGMA synchronous = NORMAL");
    if (path !== ":memory:") sqlite.run("PRAGMA journal_mode = WAL");
    // Take and release the write lock now, so a read-only file fails here with a clear message.
    sqlite.run("BEGIN IMMEDIATE");
    sqlite.run("ROLLBACK");
  } catch (error) {
    sqlite?.close();
    throw new DatabaseError(`cannot open database ${path}: ${reason(error)}`);
  }
  const changes = new ChangeMonitor(sqlite);
  const writes = new SqliteWrites(sqlite, changes);
  return {
    engine: "sqlite",
    path,
    sqlite,
    db: writes.db,
    changes,
    write: (work) => writes.run(work, false),
    bookkeeping: (work) => writes.run(work, true),
    lookup(query) {
      const prepared = query.prepare();
      return (values) => prepared.get(values);
    },
    close: () => writes.close(),
  };
}

function createDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DatabaseError(`cannot create database directory ${dir}: ${reason(error)}`);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type Transaction = Parameters<Parameters<Db["transaction"]>[0]>[0];

/**
 * The tables of the engine `db` (or `tx`) runs on. Queries are written once, against schema.ts's
 * types, but each must name its own engine's tables: a column encodes the values bound to it
 * (a date is a number of milliseconds for SQLite, a timestamp for PostgreSQL).
 */
export function tablesOf(db: Db | Transaction): typeof schema {
  return db._.fullSchema;
}
