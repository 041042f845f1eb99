import { describe, expect, test } from "bun:test";
import { Glob } from "bun";
import { is, Table } from "drizzle-orm";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as pg from "../../src/db/schema-postgres";
import * as sqlite from "../../src/db/schema";

const src = resolve(import.meta.dir, "../../src");

/** src/db is where engine-specific code lives (migrations, backups, the SQLite store); everything else is written once. */
const engineCode = "db/";

/** A table, or a list of them (tablesParentsFirst): a value a query could bind through. Plain lists of names are not. */
const holdsTable = (value: unknown) => is(value, Table) || (Array.isArray(value) && value.some((item) => is(item, Table)));

/** The exports a module must take from tablesOf(db) instead: their columns encode values as one engine stores them. */
const tableExports = [...new Set([sqlite, pg].flatMap((schema) => Object.entries(schema).filter(([, value]) => holdsTable(value)).map(([name]) => name)))];

const schemaPath = String.raw`["'](?:\.{1,2}\/)+(?:[\w-]+\/)*db\/schema(?:-postgres)?(?:\.ts)?["']`;

/**
 * An import or re-export from db/schema (or db/schema-postgres) with its clause. The clause holds only
 * what an import clause can (names, braces, commas, `*`), and no second `import`/`export`, so a match
 * never starts at an earlier statement.
 */
const staticImport = new RegExp(String.raw`\b(?:import|export)\s+((?:(?!\b(?:import|export)\b)[\w\s{},*$])*?)\s*from\s*` + schemaPath, "g");
const dynamicImport = new RegExp(String.raw`\bimport\(\s*` + schemaPath + String.raw`\s*\)`, "g");

/** The table exports a clause brings in as values: every one for `* as x` or `export *`, else the named ones not marked `type`. */
function tablesOfClause(clause: string): string[] {
  if (/^type\b/.test(clause.trim())) return [];
  if (clause.includes("*")) return tableExports;
  const named = /\{([^}]*)\}/.exec(clause)?.[1] ?? "";
  return named
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "" && !/^type\s/.test(entry))
    .map((entry) => entry.split(/\s+as\s+/)[0]!)
    .filter((name) => tableExports.includes(name));
}

/** The tables a source file imports as runtime values from either schema. */
function tablesImported(source: string): string[] {
  const named = [...source.matchAll(staticImport)].flatMap((match) => tablesOfClause(match[1]!));
  const dynamic = [...source.matchAll(dynamicImport)].flatMap(() => tableExports);
  return [...new Set([...named, ...dynamic])].sort();
}

describe("every query names its own engine's tables (issue 16: the store may be PostgreSQL)", () => {
  test("no file outside src/db imports a table from a schema: queries take theirs from tablesOf(db)", () => {
    const found = [...new Glob("**/*.ts").scanSync(src)]
      .filter((file) => !file.startsWith(engineCode))
      .flatMap((file) => tablesImported(readFileSync(resolve(src, file), "utf8")).map((table) => `${file}: ${table}`));
    expect(found).toEqual([]);
  });

  test("the guard knows every table of both schemas, and takes the plain lists of names for what they are", () => {
    expect([...tableExports].sort()).toEqual(["auditEvents", "authLockouts", "deviceTokens", "devices", "sessions", "settings", "tablesParentsFirst", "tokens", "usageBuckets", "users"]);
  });

  const all = [...tableExports].sort();
  test.each([
    ['import { tokens, users } from "../../db/schema";', ["tokens", "users"]],
    ['import { deviceStatuses, devices as rows } from "../../db/schema";', ["devices"]],
    ['import { type sessions, users } from "../db/schema";', ["users"]],
    ["import {\n  tokens,\n  tokenSources,\n} from '../../db/schema.ts';", ["tokens"]],
    ['export { settings } from "../db/schema";', ["settings"]],
    ['import { tablesParentsFirst } from "../db/schema";', ["tablesParentsFirst"]],
    ['import { tokens } from "../../db/schema-postgres";', ["tokens"]],
    ['import * as schema from "../../db/schema";', all],
    ['export * from "../../db/schema";', all],
    ['const schema = await import("../../db/schema");', all],
    // The second statement's import is found, the first's `tokens` is not taken for it.
    ['import { tokens } from "./liveness";\nimport { users as accounts } from "../db/schema";', ["users"]],
    ["export default app\nimport { devices } from '../db/schema'", ["devices"]],
    ['import type { tokens, users } from "../../db/schema";', []],
    ['import type * as schema from "../../db/schema";', []],
    ['import { type sessions, type users } from "../db/schema";', []],
    ['import { tokenSources } from "../../db/schema";', []],
    ['import { Nullable } from "../../http/schema";', []],
    ['import { tokens } from "../../db/schema-cache";', []],
  ] as [string, string[]][])("the pattern: %j imports %j", (source, tables) => {
    expect(tablesImported(source)).toEqual(tables);
  });
});
