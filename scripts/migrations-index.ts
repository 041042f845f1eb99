/**
 * Writes migrations.js for a drizzle-kit migrations folder: an index importing each .sql file in
 * journal order, which is what lets `bun build --compile` embed them. drizzle-kit writes one only
 * for SQLite's durable-sqlite driver; npm run db:generate runs this for src/db/migrations-postgres.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Journal {
  entries: { idx: number; tag: string }[];
}

/** The index's text for a journal, in the shape drizzle-kit gives SQLite's (`m0000`, `m0001`…). */
export function migrationsIndex(journal: Journal): string {
  const key = (idx: number) => `m${String(idx).padStart(4, "0")}`;
  const imports = journal.entries.map((e) => `import ${key(e.idx)} from "./${e.tag}.sql";`);
  const names = journal.entries.map((e) => `    ${key(e.idx)},`);
  return [
    "// Written by scripts/migrations-index.ts from meta/_journal.json (npm run db:generate): do not edit.",
    'import journal from "./meta/_journal.json";',
    ...imports,
    "",
    "export default {",
    "  journal,",
    "  migrations: {",
    ...names,
    "  },",
    "};",
    "",
  ].join("\n");
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: bun scripts/migrations-index.ts <migrations folder>");
  const journal = JSON.parse(readFileSync(join(dir, "meta/_journal.json"), "utf8")) as Journal;
  writeFileSync(join(dir, "migrations.js"), migrationsIndex(journal));
  console.log(`wrote ${join(dir, "migrations.js")} (${journal.entries.length} migrations)`);
}
