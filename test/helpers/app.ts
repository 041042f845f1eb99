import { createApp } from "../../src/app";
import { resolveConfig, type Config } from "../../src/config";
import { openDatabase } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { createServices } from "../../src/services";
import { memoryLogger } from "./memory-log";

/** The real app over an in-memory database, for tests that need no process or socket. */
export function inProcessApp(env: Record<string, string> = {}, overrides: Partial<Config> = {}) {
  const store = openDatabase(":memory:");
  migrate(store.sqlite);
  const log = memoryLogger();
  const config = { ...resolveConfig({ flags: {}, env, dotenv: {} }), ...overrides };
  const services = createServices(store, config, log);
  return { ...services, log, app: createApp(services) };
}
