import { parseDbTarget } from "../config-db";
import { openDatabase, type SqliteStore } from "./client";
import { migrate, type MigrationReport } from "./migrate";
import { openPostgres, type PostgresStore } from "./postgres-client";

export type AnyStore = SqliteStore | PostgresStore;

/**
 * Opens the database KEYWARD_DB names, a SQLite file (created if missing) or a PostgreSQL
 * server, and brings its schema up to date: every process that opens it (server, CLI) does.
 */
export async function openStore(db: string): Promise<{ store: AnyStore; migration: MigrationReport }> {
  const target = parseDbTarget(db);
  if (target.kind === "postgres") return openPostgres(target.url);
  const store = openDatabase(target.path);
  try {
    return { store, migration: migrate(store) };
  } catch (error) {
    await store.close();
    throw error;
  }
}
