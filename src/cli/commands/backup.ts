import { displayDb } from "../../config-db";
import { backupDatabase, restoreDatabase } from "../../db/backup";
import { command, jsonOption, settingOptions } from "../command";
import { withDatabase } from "../database";
import { printResult } from "../output";
import { DatabaseError, type SqliteStore } from "../../db/client";
import type { AnyStore } from "../../db/open";

/** PostgreSQL backups are not in this build yet: refused, by name, rather than half done. */
function sqliteOnly(store: AnyStore, what: string): SqliteStore {
  if (store.engine !== "sqlite") throw new DatabaseError(`${what} works on a SQLite KEYWARD_DB only in this build`);
  return store;
}

const options = { ...jsonOption, ...settingOptions("db") };

export const backupCommand = command({
  name: "backup",
  summary: "Copy the live database to FILE, consistently, also while the server runs.",
  positionals: ["file"],
  options,
  run: (flags, [file]) =>
    withDatabase(flags, (store, config) => {
      const { bytes } = backupDatabase(sqliteOnly(store, "backup"), file);
      const db = displayDb(config.db);
      printResult(flags.json, { db, file, bytes }, `Backed up ${db} to ${file} (${bytes} bytes).\n`);
      return 0;
    }),
});

export const restoreCommand = command({
  name: "restore",
  summary: "Check FILE (integrity, schema) and make its contents the database's; the old contents are kept in a file beside it.",
  positionals: ["file"],
  options,
  run: (flags, [file]) =>
    withDatabase(flags, async (store, config) => {
      const { keptAs, applied } = await restoreDatabase(sqliteOnly(store, "restore"), file);
      const migrated = applied.length ? ` (migrated from an older build: ${applied.join(", ")})` : "";
      const db = displayDb(config.db);
      printResult(
        flags.json,
        { db, file, kept_as: keptAs, migrated: applied },
        `Restored ${file} into ${db}${migrated}. The previous contents are kept in ${keptAs}.\n`,
      );
      return 0;
    }),
});
