import { SQL } from "bun";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { asc, count, eq, getTableColumns, getTableName } from "drizzle-orm";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../src/config";
import { restoreDatabase } from "../../src/db/backup";
import { backupPostgres, restorePostgres } from "../../src/db/backup-postgres";
import { openDatabase, type SqliteStore, tablesOf } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { openStore } from "../../src/db/open";
import type { PostgresStore } from "../../src/db/postgres-client";
import { recordAudit } from "../../src/modules/audit/service";
import { loadSigningSecret, settleRestoredSigningKey } from "../../src/modules/devices/signing";
import { issueToken } from "../../src/modules/tokens/service";
import { tempDir } from "../helpers/binary";
import { createDatabase, hasPostgres, throwawayCluster } from "../helpers/postgres";

// `keyward backup`/`restore` on PostgreSQL, in process: the SQLite backup file is the portable format.
setDefaultTimeout(60_000);

const SECRET_KEY = "backup-secret-key-0123456789abcdef";
const KEY_ROW = "device_signing_key";

const cluster = throwawayCluster();

async function pgStore(url?: string): Promise<PostgresStore> {
  const { store } = await openStore(url ?? (await createDatabase(cluster.pg)));
  cluster.closeAfter(store);
  if (store.engine !== "postgres") throw new Error("expected PostgreSQL");
  return store;
}

function sqliteStore(dir = tempDir()): SqliteStore {
  const store = openDatabase(join(dir, "keyward.db"));
  migrate(store);
  cluster.closeAfter(store);
  return store;
}

const settle = (tx: Parameters<typeof settleRestoredSigningKey>[0]) => settleRestoredSigningKey(tx, SECRET_KEY);
const keepIn = (dir: string) => join(dir, `kept-${crypto.randomUUID()}.db`);

/** Rows of every kind a column can hold: dates to the millisecond, booleans both ways, JSON arrays, nulls, gaps in audit ids, more audit rows than a page. */
async function fill(store: SqliteStore, signingKey: string | null): Promise<void> {
  const at = (ms: number) => new Date(1_800_000_000_000 + ms);
  await store.write(async (tx) => {
    const { settings, users, tokens, auditEvents, devices, deviceTokens, sessions, usageBuckets } = tablesOf(tx);
    await tx.insert(settings).values([{ key: "admin_note", value: "ünïcode ✓", updatedAt: at(1) }, ...(signingKey ? [{ key: KEY_ROW, value: signingKey, updatedAt: at(2) }] : [])]);
    await tx.insert(users).values([
      { username: "alice", passwordHash: "$argon2id$x", role: "admin", disabled: true, createdAt: at(3), updatedAt: at(4) },
      { username: "bob", passwordHash: "$argon2id$y", createdAt: at(5), updatedAt: at(6) },
    ]);
    await tx.insert(tokens).values([
      { id: "tok_a", user: "alice", name: "laptop", role: "admin", hash: "h1", hint: "kw_a…", source: "api", createdAt: at(7), expiresAt: at(8), revokedAt: at(9), revokeReason: "rotated", replacedBy: "tok_b", allowedIps: ["10.0.0.0/8", "::1"], lastUsedAt: at(10), lastIp: "10.1.2.3", requestCount: 2 ** 40 },
      { id: "tok_b", user: "bob", hash: "h2", hint: "kw_b…", source: "env", createdAt: at(11), allowedIps: [] },
      { id: "tok_c", user: "bob", hash: "h3", hint: "kw_c…", source: "lab", createdAt: at(12) },
    ]);
    await tx.insert(auditEvents).values([{ id: 3, at: at(13), action: "token.created", count: 4 }, { id: 9, at: at(14), action: "auth.failed", actor: "x", user: "bob", tokenId: "tok_b", ip: "192.0.2.1", detail: "d" }]);
    for (let i = 0; i < 5; i++) await tx.insert(auditEvents).values(Array.from({ length: 500 }, (_, j) => ({ id: 100 + i * 500 + j, at: at(15 + j), action: "token.used" })));
    await tx.insert(devices).values([
      { id: "dev_1", fingerprint: "fp1", label: "kiosk", status: "active", firstSeen: at(16), lastSeen: at(17) },
      { id: "dev_2", fingerprint: "fp2", status: "pending", enrollmentSecretHash: "esh", firstSeen: at(18), lastSeen: at(19) },
    ]);
    await tx.insert(deviceTokens).values([{ id: "dt_1", deviceId: "dev_1", mainHash: "m1", shortHash: "s1", issuedAt: at(20), expiresAt: at(21), revokedAt: at(22) }]);
    await tx.insert(sessions).values([{ id: "ses_1", hash: "sh", consoleHash: "ch", user: "alice", createdAt: at(23), lastSeenAt: at(24), ip: "::1", endedAt: at(25) }]);
    // More usage buckets than a page of the copy (1,000), whose key is five columns.
    const buckets = Array.from({ length: 1_200 }, (_, i) => ({ resolution: "1h" as const, start: at(30 + (i % 400)), series: `tok_${i % 3}`, outcome: "success" as const, reason: "", count: i + 1 }));
    for (let i = 0; i < buckets.length; i += 400) await tx.insert(usageBuckets).values(buckets.slice(i, i + 400));
  });
}

type AnyStore = SqliteStore | PostgresStore;

/** Every table's rows through drizzle, in primary-key order, the signing key row aside (it is sealed on the way). */
async function rowsOf(store: AnyStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of tablesOf(store.db).tablesParentsFirst) {
    // usage_buckets' key is several columns: ordered by all of them, its rows are in key order too.
    const columns = Object.values(getTableColumns(table));
    const key = columns.filter((c) => c.primary);
    const rows: Record<string, unknown>[] = await store.db
      .select()
      .from(table)
      .orderBy(...(key.length > 0 ? key : columns).map((c) => asc(c)));
    out[getTableName(table)] = rows.filter((row) => row.key !== KEY_ROW);
  }
  return out;
}

/** The same, as SQLite stores them: the encodings too (milliseconds, 0/1, JSON text) must come back unchanged. */
function rawRowsOf(store: SqliteStore): Record<string, unknown[]> {
  return Object.fromEntries(
    tablesOf(store.db).tablesParentsFirst.map((table) => [getTableName(table), store.sqlite.query(`SELECT * FROM "${getTableName(table)}" ORDER BY ${Object.keys(getTableColumns(table)).map((_, i) => i + 1).join(", ")}`).all().filter((row) => (row as { key?: string }).key !== KEY_ROW)]),
  );
}

const keyRow = async (store: AnyStore) => {
  const { settings } = tablesOf(store.db);
  return (await store.db.select({ value: settings.value }).from(settings).where(eq(settings.key, KEY_ROW)))[0]?.value;
};

describe.skipIf(!hasPostgres)("backup and restore on PostgreSQL", () => {
  test("SQLite → PostgreSQL → SQLite keeps every row of every table as it was", async () => {
    const dir = tempDir();
    const source = sqliteStore();
    const plaintextKey = Buffer.from(crypto.getRandomValues(new Uint8Array(64))).toString("base64");
    await fill(source, plaintextKey);
    const original = await rowsOf(source);
    expect(original.audit_events!.length).toBe(2502);

    const store = await pgStore();
    const { keptAs, applied } = await restorePostgres(store, source.path, { keep: keepIn(dir), settle });
    expect(applied).toEqual([]);
    expect(existsSync(keptAs)).toBe(true);
    expect(await rowsOf(store)).toEqual(original);
    // Sealed in place: a backup of the cluster never holds the key in the clear.
    expect(await keyRow(store)).toStartWith("enc:v1:");
    expect(Buffer.from(await loadSigningSecret(store, SECRET_KEY, { shared: true })).toString("base64")).toBe(plaintextKey);
    // The identity goes on after the highest id restored.
    await store.bookkeeping((tx) => recordAudit(tx, { action: "token.created" }));
    const { auditEvents } = tablesOf(store.db);
    expect((await store.db.select({ id: auditEvents.id }).from(auditEvents).orderBy(asc(auditEvents.id))).at(-1)!.id).toBe(100 + 2500);

    const file = join(dir, "from-pg.db");
    await backupPostgres(store, file);
    const back = sqliteStore();
    await restoreDatabase(back, file, { keep: keepIn(dir) });
    const final = await rowsOf(back);
    expect(final.audit_events!.pop()).toMatchObject({ id: 2600, action: "token.created" });
    expect(final).toEqual(original);
    const beforeRaw = rawRowsOf(source);
    const afterRaw = rawRowsOf(back);
    (afterRaw.audit_events as unknown[]).pop();
    expect(afterRaw).toEqual(beforeRaw);
    // The PostgreSQL backup keeps the sealed key: SQLite opens it with the same SECRET_KEY, and refuses another.
    expect(await keyRow(back)).toBe(await keyRow(store));
    expect(Buffer.from(await loadSigningSecret(back, SECRET_KEY, { shared: false })).toString("base64")).toBe(plaintextKey);
    await expect(loadSigningSecret(back, "another-secret-key-0123456789abcdef", { shared: false })).rejects.toThrow(ConfigError);
  });

  test("a SQLite install that signed with SECRET_KEY (no key row) keeps its device tokens' key on PostgreSQL", async () => {
    const source = sqliteStore();
    await fill(source, null);
    const store = await pgStore();
    await restorePostgres(store, source.path, { keep: keepIn(tempDir()), settle });
    expect(await keyRow(store)).toStartWith("enc:v1:");
    expect(await loadSigningSecret(store, SECRET_KEY, { shared: true })).toEqual(new TextEncoder().encode(SECRET_KEY));
  });

  test("a backup whose key is sealed with another SECRET_KEY is refused, and nothing changes", async () => {
    const other = await pgStore();
    await loadSigningSecret(other, "another-secret-key-0123456789abcdef", { shared: true });
    const dir = tempDir();
    const file = join(dir, "other.db");
    await backupPostgres(other, file);

    const store = await pgStore();
    await issueToken(store, { user: "keep-me", lifetimeMs: null, source: "api" }, { name: "test" });
    const before = await rowsOf(store);
    const keep = keepIn(dir);
    await expect(restorePostgres(store, file, { keep, settle })).rejects.toThrow(/SECRET_KEY cannot open the backup's device signing key/);
    expect(await rowsOf(store)).toEqual(before);
    expect(existsSync(keep)).toBe(false);
  });

  test.each([
    ["malformed JSON in allowed_ips", "UPDATE tokens SET allowed_ips = '{not json'", "JSON"],
    ["a NUL in a token's name", "UPDATE tokens SET name = 'a' || char(0) || 'b'", "0x00"],
    ["an audit id past int8", "UPDATE audit_events SET id = 9223372036854775807 WHERE id = 9", "out of range"],
  ])("a backup with %s is refused in one line naming no row's values, and nothing changes", async (_, damage, reason) => {
    const dir = tempDir();
    const source = sqliteStore(dir);
    await fill(source, null);
    source.sqlite.run(damage);
    const file = join(dir, "hostile.db");
    source.sqlite.run("VACUUM INTO ?", [file]);
    const store = await pgStore();
    await issueToken(store, { user: "keep-me", lifetimeMs: null, source: "api" }, { name: "test" });
    const before = await rowsOf(store);
    const keep = keepIn(dir);
    const refused = await restorePostgres(store, file, { keep, settle }).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toStartWith(`${file} cannot be restored: a row is refused: `);
    expect((refused as Error).message).toContain(reason);
    expect((refused as Error).message).not.toContain("h1");
    expect(await rowsOf(store)).toEqual(before);
    expect(existsSync(keep)).toBe(false);
  });

  test("a file that is not a Keyward backup is refused before anything is touched", async () => {
    const dir = tempDir();
    const junk = join(dir, "junk.db");
    await Bun.write(junk, "not a database at all");
    const store = await pgStore();
    await expect(restorePostgres(store, junk, { keep: keepIn(dir), settle })).rejects.toThrow("cannot be restored");
    await expect(backupPostgres(store, junk)).rejects.toThrow("exists already");
  });

  test("a backup taken while tokens are being made is one snapshot: as many tokens as token.created events", async () => {
    const url = await createDatabase(cluster.pg);
    const store = await pgStore(url);
    // Enough rows that the backup takes a while, so the writes below land while it reads.
    await store.write(async (tx) => {
      const { tokens, auditEvents } = tablesOf(tx);
      for (let i = 0; i < 20; i++) {
        const batch = Array.from({ length: 500 }, (_, j) => `tok_pre_${i}_${j}`);
        await tx.insert(tokens).values(batch.map((id) => ({ id, user: "pre", hash: id, hint: "kw_…", source: "api" as const, createdAt: new Date() })));
        await tx.insert(auditEvents).values(batch.map((id) => ({ at: new Date(), action: "token.created", tokenId: id })));
      }
    });
    const writer = await pgStore(url);
    let writing = true;
    let made = 0;
    const writes = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (writing) {
          await issueToken(writer, { user: "load", lifetimeMs: null, source: "api" }, { name: "test" });
          made++;
        }
      }),
    );
    await Bun.sleep(50);
    const file = join(tempDir(), "under-load.db");
    const madeBefore = made;
    await backupPostgres(store, file);
    const madeDuring = made - madeBefore;
    writing = false;
    await writes;
    const backup = openDatabase(file);
    cluster.closeAfter(backup);
    const { tokens, auditEvents } = tablesOf(backup.db);
    const [inTokens] = await backup.db.select({ n: count() }).from(tokens);
    const [inAudit] = await backup.db.select({ n: count() }).from(auditEvents).where(eq(auditEvents.action, "token.created"));
    console.log(`backup under load: ${inTokens!.n} tokens, ${madeDuring} made while it ran`);
    expect(madeDuring).toBeGreaterThan(0);
    expect(inAudit!.n).toBe(inTokens!.n);
    expect(inTokens!.n).toBeLessThan(10_000 + made);
  });

  test("a restore moves the change signal on, so running instances drop their caches", async () => {
    const url = await createDatabase(cluster.pg);
    const store = await pgStore(url);
    const source = sqliteStore();
    await fill(source, null);
    const client = new SQL(url);
    try {
      const version = async () => Number((await client`SELECT version FROM keyward_state`)[0].version);
      const before = await version();
      await restorePostgres(store, source.path, { keep: keepIn(tempDir()), settle });
      expect(await version()).toBeGreaterThan(before);
    } finally {
      await client.close();
    }
  });
});
