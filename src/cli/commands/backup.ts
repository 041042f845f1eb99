import { backupDatabase, restoreDatabase } from "../../db/backup";
import { configFlags, type Command } from "../command";
import { withDatabase } from "../database";

const db = configFlags("db");

export const backupCommand: Command = {
  name: "backup",
  summary: "Copy the live database to FILE, consistently, also while the server runs.",
  synopsis: "<file> [--db DB]",
  positionals: ["file"],
  ...db,
  run: (flags, [file]) =>
    withDatabase(flags, (store) => {
      const { bytes } = backupDatabase(store, file!);
      process.stdout.write(`Backed up ${store.path} to ${file} (${bytes} bytes).\n`);
      return 0;
    }),
};

export const restoreCommand: Command = {
  name: "restore",
  summary: "Check FILE (integrity, schema) and make its contents the database's; the old contents are kept in a file beside it.",
  synopsis: "<file> [--db DB]",
  positionals: ["file"],
  ...db,
  run: (flags, [file]) =>
    withDatabase(flags, (store) => {
      const { keptAs, applied } = restoreDatabase(store, file!);
      const migrated = applied.length ? ` (migrated from an older build: ${applied.join(", ")})` : "";
      process.stdout.write(`Restored ${file} into ${store.path}${migrated}. The previous contents are kept in ${keptAs}.\n`);
      return 0;
    }),
};
