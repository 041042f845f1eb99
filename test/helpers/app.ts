import { createApp } from "../../src/app";
import type { Config } from "../../src/config";
import { resolveConfig } from "../../src/config-load";
import { openDatabase, type SqliteStore } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { createServices } from "../../src/services";
import { onPostgres, postgresStore } from "./engine";
import { memoryLogger } from "./memory-log";

/** A clock a test moves forward instead of sleeping: real time plus what was advanced, so it never runs backwards. */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let ahead = 0;
  return {
    now: () => Date.now() + ahead,
    advance(ms) {
      ahead += ms;
    },
  };
}

export interface InProcessOptions {
  /** The address every request comes from, as the socket peer would be (loopback, like the e2e tests). */
  peer?: string;
  /** The database file; a fresh in-memory one by default (a fresh PostgreSQL database under KEYWARD_TEST_PG=1). */
  db?: string;
}

/** A PostgreSQL store, configured as the server would be: KEYWARD_DB names it, and SECRET_KEY is then required. */
async function onPostgresStore(clock: TestClock) {
  const { store, url } = await postgresStore(clock.now);
  // Typed as SQLite's: a test that reads its handle is sqliteOnly, skipped on PostgreSQL.
  return { store: store as unknown as SqliteStore, engineEnv: { KEYWARD_DB: url, SECRET_KEY: "test-secret-key-0123456789abcdef" } };
}

/**
 * The real app over an in-memory database, for tests that need no process or socket. Time is
 * `clock` (advance it to expire tokens, end lockouts, pass grace periods); `fetch` takes a path
 * like the e2e helpers' server, so `client(kw)` from helpers/api works on it.
 */
export async function inProcessApp(env: Record<string, string> = {}, overrides: Partial<Config> = {}, { peer = "127.0.0.1", db }: InProcessOptions = {}) {
  const clock = testClock();
  if (onPostgres && db !== undefined) throw new Error("a database file is SQLite's: mark the test sqliteOnly");
  const { store, engineEnv } = onPostgres ? await onPostgresStore(clock) : { store: openDatabase(db ?? ":memory:"), engineEnv: {} };
  if (!onPostgres) migrate(store);
  const log = memoryLogger();
  const config = { ...resolveConfig({ flags: {}, env: { ...engineEnv, ...env }, dotenv: {} }), ...overrides };
  const services = await createServices(store, config, log, clock.now);
  let lookups = 0;
  const socket = {
    requestIP: () => {
      lookups++;
      return { address: peer };
    },
  };
  const app = createApp(services, () => socket);
  const fetch = (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init));
  /** How often a route asked the socket for its peer (a system call on a real server). */
  const addressLookups = () => lookups;
  // The store itself, so a test can look at what was stored.
  return { ...services, store, log, clock, app, fetch, addressLookups };
}
