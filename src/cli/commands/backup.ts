import { backupDatabase, restoreDatabase } from "../../db/backup";
import { command, jsonOption, settingOptions } from "../command";
import { withDatabase } from "../database";
import { printResult } from "../output";

const options = { ...jsonOption, ...settingOptions("db") };

export const backupCommand = command({
  name: "backup",
  summary: "Copy the live database to FILE, consistently, also while the server runs.",
  positionals: ["file"],
  options,
  run: (flags, [file]) =>
    withDatabase(flags, (store) => {
      const { bytes } = backupDatabase(store, file);
      printResult(flags.json, { db: store.path, file, bytes }, `Backed up ${store.path} to ${file} (${bytes} bytes).\n`);
      return 0;
    }),
});

export const restoreCommand = command({
  name: "restore",
  summary: "Check FILE (integrity, schema) and make its contents the database's; the old contents are kept in a file beside it.",
  positionals: ["file"],
  options,
  run: (flags, [file]) =>
    withDatabase(flags, (store) => {
      const { keptAs, applied } = restoreDatabase(store, file);
      const migrated = applied.length ? ` (migrated from an older build: ${applied.join(", ")})` : "";
      printResult(
        flags.json,
        { db: store.path, file, kept_as: keptAs, migrated: applied },
        `Restored ${file} into ${store.path}${migrated}. The previous contents are kept in ${keptAs}.\n`,
      );
      return 0;
    }),
});
