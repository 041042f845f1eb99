import type { Config } from "../config";
import { loadConfig } from "../config-load";
import { type AnyStore, openStore } from "../db/open";

/**
 * Runs a CLI command against the database directly: it may be the one running servers use (on
 * SQLite, WAL and a busy timeout make that safe; on PostgreSQL, the same locks as theirs). The
 * schema is brought up to date first.
 */
export async function withDatabase<T>(flags: Record<string, unknown>, work: (store: AnyStore, config: Config) => T | Promise<T>): Promise<T> {
  const config = loadConfig(flags);
  const { store } = await openStore(config.db);
  try {
    return await work(store, config);
  } finally {
    await store.close();
  }
}
