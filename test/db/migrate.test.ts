import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client";
import { settings } from "../../src/db/schema";
import { migrate, migrations, SchemaTooNewError } from "../../src/db/migrate";
import { tempDir } from "../helpers/binary";

const tables = (sqlite: Database) =>
  sqlite
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);

describe("migrations", () => {
  test("are embedded through migrations.js, in order, each with SQL", () => {
    expect(migrations.length).toBeGreaterThan(0);
    for (const [i, m] of migrations.entries()) {
      expect(m.statements.length).toBeGreaterThan(0);
      if (i > 0) expect(m.createdAt).toBeGreaterThan(migrations[i - 1]!.createdAt);
    }
  });

  test("create the schema on an empty database, then do nothing the second time", () => {
    const store = openDatabase(":memory:");
    const first = migrate(store);
    expect(first.applied).toEqual(migrations.map((m) => m.tag));
    expect(tables(store.sqlite)).toContain("settings");
    const second = migrate(store);
    expect(second.applied).toEqual([]);
    expect(second.current).toBe(migrations.at(-1)!.tag);
  });

  test.each(migrations.map((_, i) => i))(
    "upgrade a database made by an older build (with the first %i migrations) and keep its data",
    (applied) => {
      const store = openDatabase(":memory:");
      migrate(store, migrations.slice(0, applied));
      if (tables(store.sqlite).includes("settings")) {
        store.sqlite.run("INSERT INTO settings (key, value, updated_at) VALUES ('kept', 'yes', 1)");
      }
      const report = migrate(store);
      expect(report.applied).toEqual(migrations.slice(applied).map((m) => m.tag));
      if (applied > 0) {
        expect(store.sqlite.query("SELECT value FROM settings WHERE key = 'kept'").get()).toEqual({ value: "yes" });
      }
    },
  );

  test("refuse a database written by a newer build, and leave it as it was", () => {
    const store = openDatabase(":memory:");
    migrate(store);
    const future = migrations.at(-1)!.createdAt + 1000;
    store.sqlite.run(`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES ('future', ${future})`);
    expect(() => migrate(store)).toThrow(SchemaTooNewError);
    const rows = store.sqlite.query(`SELECT count(*) AS n FROM "__drizzle_migrations"`).get() as { n: number };
    expect(rows.n).toBe(migrations.length + 1);
  });

  test("a file database gets WAL, NORMAL sync, a busy timeout and foreign keys", () => {
    const store = openDatabase(join(tempDir(), "nested/dir/keyward.db"));
    const pragma = (name: string) => Object.values(store.sqlite.query(`PRAGMA ${name}`).get() as object)[0];
    expect(pragma("journal_mode")).toBe("wal");
    expect(pragma("synchronous")).toBe(1);
    expect(pragma("busy_timeout")).toBe(5000);
    expect(pragma("foreign_keys")).toBe(1);
    store.close();
  });

  test("a second connection (a CLI beside the server) can write while the first holds the file", () => {
    const path = join(tempDir(), "shared.db");
    const server = openDatabase(path);
    const cli = openDatabase(path);
    migrate(server);
    expect(migrate(cli).applied).toEqual([]);
    cli.sqlite.run("INSERT INTO settings (key, value, updated_at) VALUES ('from-cli', '1', 1)");
    expect(server.sqlite.query("SELECT value FROM settings WHERE key = 'from-cli'").get()).toEqual({ value: "1" });
    server.close();
    cli.close();
  });

  test("close() lets go of the file at once, prepared statements and all: the file alone then holds every commit", () => {
    const dir = tempDir();
    const store = openDatabase(join(dir, "keyward.db"));
    migrate(store);
    const read = store.db.select().from(settings).where(eq(settings.key, "last")).prepare();
    store.db.insert(settings).values({ key: "last", value: "written", updatedAt: new Date() }).run();
    expect(read.get()?.value).toBe("written");
    store.close();
    expect(existsSync(join(dir, "keyward.db-wal"))).toBe(false);
    copyFileSync(join(dir, "keyward.db"), join(dir, "copy.db"));
    const copy = new Database(join(dir, "copy.db"));
    expect(copy.query("SELECT value FROM settings WHERE key = 'last'").get()).toEqual({ value: "written" });
    copy.close();
  });
});
