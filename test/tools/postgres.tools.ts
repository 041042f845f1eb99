import { SQL } from "bun";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { getTableName, is } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import bundle from "../../src/db/migrations-postgres/migrations.js";
import * as schema from "../../src/db/schema-postgres";
import { hasPostgres, startPostgres, type Postgres } from "../helpers/postgres";
import { until } from "../helpers/until";

// initdb and a cold start take a second or two, more on a busy machine.
setDefaultTimeout(30_000);

let pg: Postgres;
let sql: SQL;

beforeAll(async () => {
  if (!hasPostgres) return;
  pg = await startPostgres();
  sql = new SQL(pg.url);
});
afterAll(async () => {
  await sql?.close();
  await pg?.stop();
});

const sqlByKey: Record<string, string | undefined> = bundle.migrations;
/** The PostgreSQL migrations as the binary will embed them; applying them for real is a later step's migrator. */
const statements = bundle.journal.entries.flatMap((entry) =>
  (sqlByKey[`m${String(entry.idx).padStart(4, "0")}`] ?? "").split("--> statement-breakpoint").filter((s) => s.trim() !== ""),
);
/** Every table schema-postgres.ts declares (auth_lockouts too, which backups leave out). */
const declaredTables = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable));
const version = async () => Number((await sql`SELECT version FROM keyward_state`)[0].version);

describe.skipIf(!hasPostgres)("a throwaway PostgreSQL and the PostgreSQL migrations", () => {
  test("answers over TCP with the password, and refuses a wrong one", async () => {
    expect(await sql`SELECT current_user AS who`).toEqual([{ who: "keyward" }]);
    const wrong = new SQL(pg.url.replace(pg.password, "not-the-password"));
    await expect(wrong`SELECT 1`).rejects.toThrow(/password authentication failed/);
    await wrong.close();
  });

  // Hand-written migrations' tables, kept out of schema-postgres.ts: the change signal, the spent DPoP proofs.
  const CUSTOM_TABLES = ["keyward_state", "keyward_dpop_proofs"];

  test("the migrations apply in one transaction and create every table, column and index of schema-postgres.ts", async () => {
    await sql.begin(async (tx) => {
      for (const statement of statements) await tx.unsafe(statement);
    });
    const tables = await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;
    expect(tables.map((row: { table_name: string }) => row.table_name).sort()).toEqual([...declaredTables.map(getTableName), ...CUSTOM_TABLES].sort());
    const columns = await sql`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`;
    const indexes = await sql`SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'`;
    for (const table of declaredTables) {
      const config = getTableConfig(table);
      const name = getTableName(table);
      const made = (rows: Record<string, string>[], key: string, column: string) => rows.filter((r) => r[key] === name).map((r) => r[column]).sort();
      expect({ name, columns: made(columns, "table_name", "column_name") }).toEqual({ name, columns: config.columns.map((c) => c.name).sort() });
      const declared = [
        // A column's primary key is PostgreSQL's <table>_pkey; a composite one is named by drizzle.
        ...(config.primaryKeys.length > 0 ? config.primaryKeys.map((key) => key.getName()) : [`${name}_pkey`]),
        ...config.indexes.map((i) => i.config.name),
        ...config.columns.filter((c) => c.isUnique).map((c) => c.uniqueName),
      ];
      expect({ name, indexes: made(indexes, "tablename", "indexname") }).toEqual({ name, indexes: declared.sort() });
    }
    expect(await version()).toBe(0);
  });

  test("a change to a table that caches read bumps the change signal; bookkeeping and a rollback do not", async () => {
    const before = await version();
    await sql`INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', now())`;
    expect(await version()).toBe(before + 1);

    await sql.begin(async (tx) => {
      await tx`SET LOCAL keyward.bookkeeping = 'on'`;
      await tx`UPDATE settings SET updated_at = now()`;
    });
    expect(await version()).toBe(before + 1);

    const rolledBack = sql.begin(async (tx) => {
      await tx`DELETE FROM settings`;
      throw new Error("roll back");
    });
    await expect(rolledBack).rejects.toThrow("roll back");
    expect(await version()).toBe(before + 1);

    await sql`TRUNCATE sessions`;
    expect(await version()).toBe(before + 2);

    // Lockouts are bookkeeping whoever writes them: the table has no trigger.
    await sql`INSERT INTO auth_lockouts (key, until, noted_at) VALUES ('ip:192.0.2.1', now(), now())`;
    await sql`DELETE FROM auth_lockouts`;
    expect(await version()).toBe(before + 2);
  });

  test("a listener hears the new version when the change commits", async () => {
    const heard: string[] = [];
    const listener = new SQL(pg.url);
    await listener.listen("keyward_changes", (payload) => heard.push(payload));
    const next = (await version()) + 1;
    await sql`UPDATE tokens SET revoked_at = now()`;
    await until(() => heard.length > 0, "the change notification");
    expect(heard).toEqual([String(next)]);
    await listener.close();
  });
});
