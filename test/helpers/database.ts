import { openDatabase, type SqliteStore } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";

/** A migrated in-memory database. */
export function memoryStore(): SqliteStore {
  const store = openDatabase(":memory:");
  migrate(store);
  return store;
}

/** What SQLite answers at once on the hot path (a cache miss included): a promise here fails the test. */
export function atOnce<T>(value: T | Promise<T>): T {
  if (value instanceof Promise) throw new Error("expected an answer at once, got a promise");
  return value;
}
