import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { backupDatabase, restoreDatabase, restoredTables } from "../../src/db/backup";
import { openDatabase, type SqliteStore } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { getTableName, is } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "../../src/db/schema";
import { auditEvents, authLockouts, devices, deviceTokens, sessions, settings, tablesParentsFirst, tokens, usageBuckets, users } from "../../src/db/schema";
import { tempDir } from "../helpers/binary";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fileStore(): { dir: string; store: SqliteStore } {
  const dir = tempDir("keyward-backup-");
  dirs.push(dir);
  const store = openDatabase(join(dir, "keyward.db"));
  migrate(store);
  return { dir, store };
}

/**
 * Lockouts last one failure window: a backup's would have ended long before a restore, and a restore
 * must not lift the live ones (an attacker's lock would end early). They stay out of both.
 */
const notRestored: readonly SQLiteTable[] = [authLockouts];

/** The tables the migrations create and a restore swaps in, without SQLite's and drizzle's own. */
const migratedTables = (store: SqliteStore) =>
  store.sqlite
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations' ORDER BY name")
    .all()
    .map((row) => row.name)
    .filter((name) => !notRestored.some((table) => getTableName(table) === name));

const contents = (store: SqliteStore, table: string) => store.sqlite.query(`SELECT * FROM "${table}" ORDER BY rowid`).all();

/** One row in every table; a new table needs a row here, or the test below says so. */
function fillEveryTable(store: SqliteStore) {
  const at = new Date(1_800_000_000_000);
  store.db.insert(settings).values({ key: "k", value: "v", updatedAt: at }).run();
  store.db.insert(users).values({ username: "alice", passwordHash: "h", createdAt: at, updatedAt: at }).run();
  store.db.insert(tokens).values({ id: "tok_1", user: "alice", hash: "th", hint: "kw_…", source: "api", createdAt: at }).run();
  store.db.insert(auditEvents).values({ at, action: "token.created", user: "alice" }).run();
  store.db.insert(devices).values({ id: "dev_1", fingerprint: "fp", status: "active", firstSeen: at, lastSeen: at }).run();
  store.db.insert(deviceTokens).values({ id: "dt_1", deviceId: "dev_1", mainHash: "m", shortHash: "s", issuedAt: at, expiresAt: at }).run();
  store.db.insert(sessions).values({ id: "ses_1", hash: "sh", user: "alice", createdAt: at, lastSeenAt: at, ip: "192.0.2.1" }).run();
  store.db.insert(usageBuckets).values({ resolution: "1h", start: at, series: "tok_1", outcome: "success", reason: "", count: 3 }).run();
}

describe("backup and restore", () => {
  test("restore covers every table the migrations create, read from the schema", () => {
    const { store } = fileStore();
    expect([...restoredTables].sort()).toEqual(migratedTables(store));
    store.close();
  });

  test("the schema's table list holds every table it declares, each after the tables its foreign keys point at", () => {
    const listed: readonly SQLiteTable[] = tablesParentsFirst;
    const declared = (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable));
    expect(new Set(listed)).toEqual(new Set(declared.filter((table) => !notRestored.includes(table))));
    const childBeforeParent = listed.flatMap((table, i) =>
      getTableConfig(table)
        .foreignKeys.map((key) => key.reference().foreignTable)
        .filter((parent) => listed.indexOf(parent) > i)
        .map((parent) => `${getTableName(table)} before ${getTableName(parent)}`),
    );
    expect(childBeforeParent).toEqual([]);
  });

  test("every table's rows come back after a restore", async () => {
    const { dir, store } = fileStore();
    fillEveryTable(store);
    const tables = migratedTables(store);
    const before = Object.fromEntries(tables.map((table) => [table, contents(store, table)]));
    for (const table of tables) expect({ table, rows: before[table]!.length }).toEqual({ table, rows: 1 });

    const file = join(dir, "backup.db");
    backupDatabase(store, file);
    store.sqlite.run("PRAGMA foreign_keys = OFF");
    for (const table of tables) store.sqlite.run(`DELETE FROM "${table}"`);
    store.sqlite.run("PRAGMA foreign_keys = ON");

    await restoreDatabase(store, file, { now: new Date(1_800_000_000_000) });
    for (const table of tables) expect({ table, rows: contents(store, table) }).toEqual({ table, rows: before[table]! });
    store.close();
  });

  test("a live database given as the backup is restored with the commits still only in its -wal", async () => {
    const live = fileStore();
    // Nothing moves into the main file: the commits below live in the -wal alone, as on a busy server.
    live.store.sqlite.run("PRAGMA wal_autocheckpoint = 0");
    fillEveryTable(live.store);
    expect(statSync(`${live.store.path}-wal`).size).toBeGreaterThan(0);
    const { store } = fileStore();
    const keep = join(live.dir, "kept.db");
    await restoreDatabase(store, live.store.path, { keep });
    for (const table of restoredTables) expect({ table, rows: contents(store, table).length }).toEqual({ table, rows: 1 });
    expect(existsSync(keep)).toBe(true);
    store.close();
    live.store.close();
  });

  test("restore refuses to overwrite the file it keeps the old contents in", async () => {
    const { dir, store } = fileStore();
    const file = join(dir, "backup.db");
    backupDatabase(store, file);
    await expect(restoreDatabase(store, file, { keep: file })).rejects.toThrow("exists already");
    store.close();
  });

  test("a restore keeps the live lockouts and brings back none of the backup's", async () => {
    const { dir, store } = fileStore();
    const lock = (key: string) => store.db.insert(authLockouts).values({ key, until: new Date(1_800_000_060_000), notedAt: new Date(1_800_000_000_000) }).run();
    lock("ip:192.0.2.1");
    const file = join(dir, "backup.db");
    backupDatabase(store, file);
    store.sqlite.run(`DELETE FROM "auth_lockouts"`);
    lock("ip:192.0.2.2");
    await restoreDatabase(store, file, { now: new Date(1_800_000_000_000) });
    expect(store.db.select({ key: authLockouts.key }).from(authLockouts).all()).toEqual([{ key: "ip:192.0.2.2" }]);
    store.close();
  });
});
