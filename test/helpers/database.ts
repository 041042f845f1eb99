import { openDatabase, type SqliteStore } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";

/** A migrated in-memory database. */
export function memoryStore(): SqliteStore {
  const store = openDatabase(":memory:");
  migrate(store);
  return store;
}
