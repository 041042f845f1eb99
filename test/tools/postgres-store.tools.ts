import { SQL } from "bun";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { count, eq, sql } from "drizzle-orm";
import { tablesOf } from "../../src/db/client";
import { isTransientDbError } from "../../src/db/errors";
import { openStore } from "../../src/db/open";
import type { PostgresStore } from "../../src/db/postgres-client";
import { postgresMigrations } from "../../src/db/postgres-migrate";
import { addUser } from "../../src/modules/users/service";
import { changeVersion, createDatabase, hasPostgres, throwawayCluster } from "../helpers/postgres";
import { freePort } from "../helpers/server";

setDefaultTimeout(30_000);

const cluster = throwawayCluster();

async function open(url: string): Promise<PostgresStore & { applied: string[] }> {
  const { store, migration } = await openStore(url);
  cluster.closeAfter(store);
  if (store.engine !== "postgres") throw new Error("expected a PostgreSQL store");
  return Object.assign(store, { applied: migration.applied });
}

describe.skipIf(!hasPostgres)("the PostgreSQL store", () => {
  test("the first open applies every migration; the next applies none", async () => {
    const url = await createDatabase(cluster.pg);
    const first = await open(url);
    expect(first.applied).toEqual(postgresMigrations.map((m) => m.tag));
    const second = await open(url);
    expect(second.applied).toEqual([]);
  });

  test("instances starting together on an empty database migrate it once", async () => {
    const url = await createDatabase(cluster.pg);
    const stores = await Promise.all([open(url), open(url), open(url)]);
    expect(stores.map((s) => s.applied.length).sort()).toEqual([0, 0, postgresMigrations.length]);
    const client = new SQL(url);
    expect(Number((await client`SELECT count(*) AS n FROM "__drizzle_migrations"`)[0].n)).toBe(postgresMigrations.length);
    await client.close();
  });

  test("queries written for SQLite run here on PostgreSQL's tables: dates, booleans and JSON arrays round-trip", async () => {
    const store = await open(await createDatabase(cluster.pg));
    const when = new Date("2026-11-28T12:34:56.789Z");
    await store.write(async (tx) => {
      const { tokens, users } = tablesOf(tx);
      await tx.insert(users).values({ username: "ann", passwordHash: "x", role: "user", disabled: true, createdAt: when, updatedAt: when });
      await tx.insert(tokens).values({ id: "t1", hash: "h1", hint: "abcd", user: "ann", role: "user", source: "api", createdAt: when, allowedIps: ["10.0.0.0/8"] });
    });
    const { tokens, users } = tablesOf(store.db);
    const [row] = await store.db.select({ at: tokens.createdAt, ips: tokens.allowedIps, disabled: users.disabled }).from(tokens).leftJoin(users, eq(users.username, tokens.user));
    expect(row).toEqual({ at: when, ips: ["10.0.0.0/8"], disabled: true });
    const lookup = store.lookup(store.db.select({ id: tokens.id }).from(tokens).where(eq(tokens.hash, sql.placeholder("hash"))));
    const found = lookup({ hash: "h1" });
    expect(found).toBeInstanceOf(Promise);
    expect(await found).toEqual({ id: "t1" });
    expect(await lookup({ hash: "nope" })).toBeUndefined();
  });

  test("a write statement outside Store.write is refused; a failed write leaves nothing", async () => {
    const store = await open(await createDatabase(cluster.pg));
    const { settings } = tablesOf(store.db);
    expect(store.db.insert(settings).values({ key: "k", value: "v", updatedAt: new Date() }).then(() => "written")).rejects.toThrow("outside Store.write");
    const failed = store.write(async (tx) => {
      await tx.insert(tablesOf(tx).settings).values({ key: "k", value: "v", updatedAt: new Date() });
      throw new Error("changed my mind");
    });
    await expect(failed).rejects.toThrow("changed my mind");
    expect((await store.db.select({ n: count() }).from(settings))[0]!.n).toBe(0);
  });

  test("a write moves the change signal and this instance's generation; bookkeeping moves neither", async () => {
    const url = await createDatabase(cluster.pg);
    const store = await open(url);
    const { settings } = tablesOf(store.db);
    const before = { version: await changeVersion(url), generation: store.changes.current() };
    await store.bookkeeping((tx) => tx.insert(tablesOf(tx).settings).values({ key: "quiet", value: "v", updatedAt: new Date() }));
    expect(await changeVersion(url)).toBe(before.version);
    expect(store.changes.current()).toBe(before.generation);
    await store.write((tx) => tx.update(tablesOf(tx).settings).set({ value: "w" }).where(eq(settings.key, "quiet")));
    expect(await changeVersion(url)).toBe(before.version + 1);
    expect(store.changes.current()).not.toBe(before.generation);
  });

  test("writers on two instances take turns: a read-then-write never interleaves", async () => {
    const url = await createDatabase(cluster.pg);
    const [a, b] = [await open(url), await open(url)];
    await a.write((tx) => tx.insert(tablesOf(tx).settings).values({ key: "n", value: "0", updatedAt: new Date() }));
    const increment = (store: PostgresStore) =>
      store.write(async (tx) => {
        const { settings } = tablesOf(tx);
        const [row] = await tx.select({ value: settings.value }).from(settings).where(eq(settings.key, "n"));
        // Widens the window a lost update would need.
        await Bun.sleep(2);
        await tx.update(settings).set({ value: String(Number(row!.value) + 1) }).where(eq(settings.key, "n"));
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 ? a : b)));
    const { settings } = tablesOf(a.db);
    expect((await a.db.select({ value: settings.value }).from(settings).where(eq(settings.key, "n")))[0]!.value).toBe("20");
  });

  test("module services run unchanged on it (a user added on one instance is seen on another)", async () => {
    const url = await createDatabase(cluster.pg);
    const [a, b] = [await open(url), await open(url)];
    await addUser(a, { username: "Zoë", password: "correct horse battery", role: "user" }, { name: "admin", tokenId: null, ip: "127.0.0.1" });
    const { users } = tablesOf(b.db);
    expect(await b.db.select({ name: users.username }).from(users)).toEqual([{ name: "zoë" }]);
  });

  test("a server out of reach is a transient error (a 503), not a 500", async () => {
    const client = new SQL(`postgres://keyward:x@127.0.0.1:${freePort()}/postgres`, { connectionTimeout: 2 });
    const error = await client`SELECT 1`.catch((e: unknown) => e);
    await client.close();
    expect(isTransientDbError(error)).toBe(true);
  });
});
