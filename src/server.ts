import { createApp } from "./app";
import type { Config } from "./config";
import { openDatabase } from "./db/client";
import { migrate } from "./db/migrate";
import type { Logger } from "./log";
import { VERSION } from "./version";

/**
 * Opens and migrates the database, then serves until SIGTERM or SIGINT. Stopping lets requests in
 * flight finish before the database is closed, so nothing they wrote is lost.
 */
export async function serve(config: Config, log: Logger): Promise<void> {
  const store = openDatabase(config.db);
  const { applied, current } = migrate(store.sqlite);
  if (applied.length > 0) log.info("database migrated", { db: config.db, applied: applied.join(","), schema: current });

  const app = createApp({ store, log }).listen({ hostname: config.host, port: config.port });
  const server = app.server!;
  log.info("listening", { url: `http://${displayHost(server.hostname ?? config.host)}:${server.port}`, version: VERSION, db: config.db });

  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    await server.stop();
    store.sqlite.close();
    log.info("stopped");
    log.flush();
    stopped.resolve();
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  await stopped.promise;
}

function displayHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
