import { createApp } from "../../src/app";
import type { Config } from "../../src/config";
import { resolveConfig } from "../../src/config-load";
import { openDatabase } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { createServices } from "../../src/services";
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
  /** The database file; a fresh in-memory one by default. */
  db?: string;
}

/**
 * The real app over an in-memory database, for tests that need no process or socket. Time is
 * `clock` (advance it to expire tokens, end lockouts, pass grace periods); `fetch` takes a path
 * like the e2e helpers' server, so `client(kw)` from helpers/api works on it.
 */
export async function inProcessApp(env: Record<string, string> = {}, overrides: Partial<Config> = {}, { peer = "127.0.0.1", db = ":memory:" }: InProcessOptions = {}) {
  const store = openDatabase(db);
  migrate(store);
  const log = memoryLogger();
  const config = { ...resolveConfig({ flags: {}, env, dotenv: {} }), ...overrides };
  const clock = testClock();
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
  // The SQLite store itself, so a test can look at what was stored.
  return { ...services, store, log, clock, app, fetch, addressLookups };
}
