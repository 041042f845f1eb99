import { resolve } from "node:path";
import { displayDb } from "../../config-db";
import { backupDatabase, keptName, restoreDatabase } from "../../db/backup";
import type { AnyStore } from "../../db/open";
import { settleRestoredSigningKey, sharedSigningKey } from "../../modules/devices/signing";
import { command, jsonOption, settingOptions } from "../command";
import { withDatabase } from "../database";
import { printResult } from "../output";

const options = { ...jsonOption, ...settingOptions("db") };

export const backupCommand = command({
  name: "backup",
  summary: "Copy the live database (SQLite or PostgreSQL) to FILE, a SQLite file, consistently, also while servers run.",
  positionals: ["file"],
  options,
  run: (flags, [file]) =>
    withDatabase(flags, async (store, config) => {
      const { bytes } = store.engine === "sqlite" ? backupDatabase(store, file) : await (await import("../../db/backup-postgres")).backupPostgres(store, file);
      const db = displayDb(config.db);
      printResult(flags.json, { db, file, bytes }, `Backed up ${db} to ${file} (${bytes} bytes).\n`);
      return 0;
    }),
});

const restoreOptions = {
  ...options,
  keep: { type: "string", value: "FILE", help: "keep the contents replaced in FILE (default: beside a SQLite database, ./keyward-before-restore-<time>.db for PostgreSQL)" },
} as const;

export const restoreCommand = command({
  name: "restore",
  summary: "Check FILE (integrity, schema) and make its contents the database's; the old contents are kept in a backup file.",
  positionals: ["file"],
  options: restoreOptions,
  run: (flags, [file]) =>
    withDatabase(flags, async (store, config) => {
      const { keptAs, applied, restart } = await restoreInto(store, file, flags.keep, config.secretKey);
      const migrated = applied.length ? ` (migrated from an older build: ${applied.join(", ")})` : "";
      const db = displayDb(config.db);
      const note = restart ? "The device signing key changed: restart every running instance, or device tokens from the backup are refused.\n" : "";
      printResult(
        flags.json,
        { db, file, kept_as: keptAs, migrated: applied, restart_instances: restart },
        `Restored ${file} into ${db}${migrated}. The previous contents are kept in ${keptAs}.\n${note}`,
      );
      return 0;
    }),
});

async function restoreInto(store: AnyStore, file: string, keep: string | undefined, secretKey: string | null): Promise<{ keptAs: string; applied: string[]; restart: boolean }> {
  if (store.engine === "sqlite") return { ...(await restoreDatabase(store, file, { keep })), restart: false };
  // config-load refuses a PostgreSQL database without SECRET_KEY.
  const key = secretKey!;
  const before = await sharedSigningKey(store.db, key);
  const { restorePostgres } = await import("../../db/backup-postgres");
  const restored = await restorePostgres(store, file, {
    keep: keep ?? resolve(`${keptName("keyward-before-restore", new Date())}.db`),
    settle: (tx) => settleRestoredSigningKey(tx, key),
  });
  return { ...restored, restart: before !== null && before !== (await sharedSigningKey(store.db, key)) };
}
