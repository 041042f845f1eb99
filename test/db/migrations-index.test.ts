import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { migrationsIndex } from "../../scripts/migrations-index";
import pgBundle from "../../src/db/migrations-postgres/migrations.js";
import sqliteBundle from "../../src/db/migrations/migrations.js";

const folders = [
  { dialect: "SQLite", dir: resolve(import.meta.dir, "../../src/db/migrations"), bundle: sqliteBundle },
  { dialect: "PostgreSQL", dir: resolve(import.meta.dir, "../../src/db/migrations-postgres"), bundle: pgBundle },
];

describe.each(folders)("the $dialect migrations' index (migrations.js)", ({ dir, bundle }) => {
  const embedded: Record<string, string | undefined> = bundle.migrations;
  const key = (idx: number) => `m${String(idx).padStart(4, "0")}`;

  test("embeds every journal entry, in order, with the SQL of its file, and nothing else", () => {
    const { entries } = bundle.journal;
    expect(entries.map((e) => e.idx)).toEqual(entries.map((_, i) => i));
    for (const entry of entries) {
      expect({ tag: entry.tag, sql: embedded[key(entry.idx)] }).toEqual({ tag: entry.tag, sql: readFileSync(join(dir, `${entry.tag}.sql`), "utf8") });
    }
    expect(Object.keys(embedded)).toEqual(entries.map((e) => key(e.idx)));
  });

  test("leaves no .sql file of the folder out of the journal", () => {
    const files = readdirSync(dir).filter((name) => name.endsWith(".sql"));
    expect(files.sort()).toEqual(bundle.journal.entries.map((e) => `${e.tag}.sql`).sort());
  });
});

describe("the PostgreSQL migrations", () => {
  const dir = folders[1]!.dir;

  test("have the index scripts/migrations-index.ts writes from their journal (npm run db:generate was run)", () => {
    const journal = JSON.parse(readFileSync(join(dir, "meta/_journal.json"), "utf8"));
    expect(readFileSync(join(dir, "migrations.js"), "utf8")).toBe(migrationsIndex(journal));
  });

  // They run in one transaction, and CREATE INDEX CONCURRENTLY cannot.
  test("never build an index concurrently", () => {
    const sql: Record<string, string> = pgBundle.migrations;
    const concurrent = Object.entries(sql).filter(([, text]) => /\bconcurrently\b/i.test(text));
    expect(concurrent.map(([name]) => name)).toEqual([]);
  });
});
