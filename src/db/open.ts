import { parseDbTarget } from "../config-db";
import { openDatabase, type SqliteStore } from "./client";
import { migrate, type MigrationReport } from "./migrate";
import type { PostgresStore } from "./postgres-client";

export type AnyStore = SqliteStore | PostgresStore;

/**
 * Opens the database KEYWARD_DB names, a SQLite file (created if missing) or a PostgreSQL
 * server, and brings its schema up to date: every process that opens it (server, CLI) does.
 */
export async function openStore(db: string): Promise<{ store: AnyStore; migration: MigrationReport }> {
  const target = parseDbTarget(db);
  // Loaded only for PostgreSQL: its driver and schema cost a SQLite box's start and memory nothing.
  if (target.kind === "postgres") return (await import("./postgres-client")).openPostgres(target.url);
  const store = openDatabase(target.path);
  try {
    return { store, migration: migrate(store) };
  } catch (error) {
    await store.close();
    throw error;
  }
}
