import { loadConfig } from "../../config";
import { openDatabase } from "../../db/client";
import { migrate } from "../../db/migrate";
import { configFlags, type Command } from "../command";

export const migrateCommand: Command = {
  name: "migrate",
  summary: "Create or upgrade the database schema, then exit (serve does this too, at start).",
  synopsis: "[--db DB]",
  ...configFlags("db"),
  async run(flags) {
    const config = loadConfig(flags);
    const store = openDatabase(config.db);
    try {
      const { applied, current } = migrate(store.sqlite);
      const what = applied.length === 0 ? "already up to date" : `applied ${applied.join(", ")}`;
      process.stdout.write(`${config.db}: ${what} (schema ${current})\n`);
    } finally {
      store.sqlite.close();
    }
    return 0;
  },
};
