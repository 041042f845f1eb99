import { openDatabase, type Store } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";

/** A migrated in-memory database. */
export function memoryStore(): Store {
  const store = openDatabase(":memory:");
  migrate(store.sqlite);
  return store;
}
