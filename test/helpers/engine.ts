import { describe, test } from "bun:test";
import { SQL } from "bun";
import type { Store } from "../../src/db/client";
import { PgChangeMonitor } from "../../src/db/postgres-changes";
import { openPostgres, type PostgresStore } from "../../src/db/postgres-client";
import { createDatabase, type Postgres, startPostgres } from "./postgres";

/**
 * KEYWARD_TEST_PG=1 (npm run test:pg) runs the in-process tests on PostgreSQL: a fresh database
 * per app on one throwaway cluster per test process, instead of an in-memory SQLite database.
 */
export const onPostgres = process.env.KEYWARD_TEST_PG === "1";

/** A test that reads SQLite's internals (its handle, pragmas, triggers): skipped on PostgreSQL, its reason in the name. */
export function sqliteOnly(reason: string) {
  return (name: string, body: () => void | Promise<unknown>, timeout?: number) =>
    onPostgres ? test.skip(`${name} [SQLite only: ${reason}]`, body) : test(name, body, timeout);
}

/** As sqliteOnly, for a whole describe block. */
export function sqliteOnlyDescribe(reason: string) {
  return (name: string, body: () => void) => (onPostgres ? describe.skip(`${name} [SQLite only: ${reason}]`, body) : describe(name, body));
}

interface Cluster {
  pg: Postgres;
  /** A connection to its `postgres` database, to create and drop the apps' databases. */
  admin: SQL;
  /** A database migrated once, copied for every app: a copy costs a fraction of migrating. */
  template: string;
}

/**
 * Waits until the store's change monitor has caught up with every write so far: PostgreSQL's hears
 * this process's own writes again (their NOTIFY) a moment after they commit. Nothing to wait for on SQLite.
 */
export async function changesSettled(store: Store): Promise<void> {
  if (!(store.changes instanceof PgChangeMonitor)) return;
  // false while the timer's poll is under way: then once more, after it.
  for (let tries = 0; !(await store.changes.poll()) && tries < 100; tries++) await Bun.sleep(5);
}

let cluster: Promise<Cluster> | undefined;
let databases = 0;
/** Stores a test opened, closed after it; stores opened outside a test (a file's shared app), at the end. */
const opened = { byTest: new Map<Store, string>(), outside: new Map<Store, string>() };
let inTest = false;
/** DROP DATABASE takes a tenth of a second here: no test waits for it, the last hook does. */
const drops: Promise<unknown>[] = [];

async function startCluster(): Promise<Cluster> {
  const pg = await startPostgres();
  const url = await createDatabase(pg);
  const { store } = await openPostgres(url);
  await store.close();
  return { pg, admin: new SQL(pg.url, { max: 1 }), template: new URL(url).pathname.slice(1) };
}

/** A migrated PostgreSQL store on a database of its own, and its URL; `clock` is the app's, so its caches follow the test's time. */
export async function postgresStore(clock: () => number): Promise<{ store: PostgresStore; url: string }> {
  const { pg, admin, template } = await (cluster ??= startCluster());
  const name = `app_${process.pid}_${++databases}`;
  // FILE_COPY: measured faster here (tmpfs) than WAL-logging each page of the copy, the default.
  await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}" STRATEGY = FILE_COPY`);
  const url = pg.url.replace(/\/postgres$/, `/${name}`);
  const { store } = await openPostgres(url, { clock });
  (inTest ? opened.byTest : opened.outside).set(store, name);
  return { store, url };
}

/** For the preload's hooks: a pool left open would hold connections the cluster (max_connections 100) runs out of. */
export const storeHooks = {
  /** Started before the first test rather than in it: starting takes seconds, which would count against that test's time limit. */
  async beforeAll() {
    if (onPostgres) await (cluster ??= startCluster());
  },
  beforeEach() {
    inTest = true;
  },
  async afterEach() {
    inTest = false;
    await closeAll(opened.byTest);
  },
  async afterAll() {
    await closeAll(opened.outside);
    await Promise.all(drops.splice(0));
    const running = await cluster;
    cluster = undefined;
    await running?.admin.close();
    await running?.pg.stop();
  },
};

/** Closes the stores, then drops their databases while the next test runs: the cluster's disk stays the size of a few. */
async function closeAll(stores: Map<Store, string>): Promise<void> {
  const closing = [...stores];
  stores.clear();
  await Promise.all(closing.map(([store]) => store.close()));
  const admin = (await cluster)?.admin;
  for (const [, name] of closing) if (admin) drops.push(admin.unsafe(`DROP DATABASE "${name}" WITH (FORCE)`));
}
