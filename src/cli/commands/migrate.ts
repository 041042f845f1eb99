import { displayDb } from "../../config-db";
import { loadConfig } from "../../config-load";
import { openStore } from "../../db/open";
import { command, jsonOption, settingOptions } from "../command";
import { printResult } from "../output";

export const migrateCommand = command({
  name: "migrate",
  summary: "Create or upgrade the database schema, then exit (serve does this too, at start).",
  options: { ...jsonOption, ...settingOptions("db") },
  async run(flags) {
    const config = loadConfig(flags);
    const { store, migration } = await openStore(config.db);
    try {
      const { applied, current } = migration;
      const what = applied.length === 0 ? "already up to date" : `applied ${applied.join(", ")}`;
      const db = displayDb(config.db);
      printResult(flags.json, { db, applied, schema: current }, `${db}: ${what} (schema ${current})\n`);
    } finally {
      await store.close();
    }
    return 0;
  },
});
