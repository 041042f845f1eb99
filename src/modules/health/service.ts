import type { Database } from "bun:sqlite";

/** True when the database answers a read of a real table: a closed or broken file fails here. */
export function databaseIsUsable(sqlite: Database): boolean {
  try {
    sqlite.query("SELECT count(*) FROM settings").get();
    return true;
  } catch {
    return false;
  }
}
