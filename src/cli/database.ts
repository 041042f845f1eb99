import type { Config } from "../config";
import { loadConfig } from "../config-load";
import { openDatabase, type SqliteStore } from "../db/client";
import { migrate } from "../db/migrate";

/**
 * Runs a CLI command against the database file directly: it may be the one a running server
 * uses (WAL and a busy timeout make that safe). The schema is brought up to date first.
 */
export async function withDatabase<T>(flags: Record<string, unknown>, work: (store: SqliteStore, config: Config) => T | Promise<T>): Promise<T> {
  const config = loadConfig(flags);
  const store = openDatabase(config.db);
  try {
    migrate(store);
    return await work(store, config);
  } finally {
    await store.close();
  }
}
