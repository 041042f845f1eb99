import { describe, expect, test } from "bun:test";
import { getTableName, is, type InferInsertModel, type InferSelectModel, type SQL, type Table } from "drizzle-orm";
import { getTableConfig as pgConfig, PgDialect, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteConfig, SQLiteSyncDialect, SQLiteTable } from "drizzle-orm/sqlite-core";
import * as pg from "../../src/db/schema-postgres";
import * as sqlite from "../../src/db/schema";

// Queries are written once, against schema.ts, and run against schema-postgres.ts's tables too:
// that holds only while both describe the same rows. tsc checks the types, the tests the rest.

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Tables<M> = { [K in keyof M as M[K] extends Table ? K : never]: M[K] };
type SqliteTables = Tables<typeof sqlite>;
type PgTables = Tables<typeof pg>;
type RowsAgree<A extends Table, B extends Table> =
  Same<InferSelectModel<A>, InferSelectModel<B>> extends true ? Same<InferInsertModel<A>, InferInsertModel<B>> : false;
/** The tables whose rows (as read, or as inserted) differ between the two schemas, or that only one has. */
type Differing = {
  [K in keyof SqliteTables | keyof PgTables]: K extends keyof SqliteTables & keyof PgTables
    ? RowsAgree<SqliteTables[K], PgTables[K]> extends true
      ? never
      : K
    : K;
}[keyof SqliteTables | keyof PgTables];
// npm test's tsc fails on this line, naming the table, when a column's type differs between the two.
const noTableDiffers: [Differing] extends [never] ? true : Differing = true;

/** What must match across dialects: names, nullability, defaults, keys and indexes. Column types are tsc's part. */
interface Shape {
  name: string;
  columns: { name: string; notNull: boolean; primary: boolean; hasDefault: boolean; default: unknown; unique: string | undefined; enumValues: string[] | undefined }[];
  indexes: { name: string | undefined; columns: string[]; unique: boolean; where: string | undefined }[];
  uniqueConstraints: { name: string | undefined; columns: string[] }[];
  primaryKeys: { name: string; columns: string[] }[];
  foreignKeys: { name: string; columns: string[]; table: string; references: string[]; onDelete: string; onUpdate: string }[];
  checks: string[];
}

type Config = ReturnType<typeof sqliteConfig> | ReturnType<typeof pgConfig>;

function shape(config: Config, render: (where: SQL) => string): Shape {
  const names = (columns: readonly unknown[]) => columns.map((c) => (c as { name: string }).name);
  return {
    name: config.name,
    columns: config.columns.map((c) => ({
      name: c.name,
      notNull: c.notNull,
      primary: c.primary,
      hasDefault: c.hasDefault,
      default: c.default,
      unique: c.isUnique ? c.uniqueName : undefined,
      enumValues: c.enumValues,
    })),
    indexes: config.indexes.map(({ config: i }) => ({
      name: i.name,
      columns: names(i.columns),
      unique: i.unique,
      where: i.where ? render(i.where) : undefined,
    })),
    uniqueConstraints: config.uniqueConstraints.map((u) => ({ name: u.name, columns: names(u.columns) })),
    primaryKeys: config.primaryKeys.map((k) => ({ name: k.getName(), columns: names(k.columns) })),
    foreignKeys: config.foreignKeys.map((key) => {
      const { columns, foreignTable, foreignColumns } = key.reference();
      // Unset, SQLite's and PostgreSQL's actions are both "no action".
      return { name: key.getName(), columns: names(columns), table: getTableName(foreignTable), references: names(foreignColumns), onDelete: key.onDelete ?? "no action", onUpdate: key.onUpdate ?? "no action" };
    }),
    checks: config.checks.map((c) => c.name),
  };
}

const sqliteDialect = new SQLiteSyncDialect();
const pgDialect = new PgDialect();
const sqliteShape = (table: SQLiteTable) => shape(sqliteConfig(table), (where) => sqliteDialect.sqlToQuery(where).sql);
const pgShape = (table: PgTable) => shape(pgConfig(table), (where) => pgDialect.sqlToQuery(where).sql);

describe("the SQLite and PostgreSQL schemas", () => {
  test("give every table the same row type, as read and as inserted (checked by tsc)", () => {
    expect(noTableDiffers).toBe(true);
  });

  test("export the same names, and list the same tables in the same order", () => {
    expect(Object.keys(pg).sort()).toEqual(Object.keys(sqlite).sort());
    expect(pg.tablesParentsFirst.map(getTableName)).toEqual(sqlite.tablesParentsFirst.map(getTableName));
    expect(pg.tokenSources).toBe(sqlite.tokenSources);
    expect(pg.deviceStatuses).toBe(sqlite.deviceStatuses);
  });

  test.each(Object.keys(sqlite).filter((key) => is(sqlite[key as keyof typeof sqlite], SQLiteTable)))(
    "declare %s with the same columns, defaults, keys and indexes",
    (key) => {
      const other = pg[key as keyof typeof pg];
      expect(is(other, PgTable)).toBe(true);
      expect(pgShape(other as PgTable)).toEqual(sqliteShape(sqlite[key as keyof typeof sqlite] as SQLiteTable));
    },
  );
});
