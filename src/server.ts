import { createApp } from "./app";
import type { BunFile } from "bun";
import { existsSync, statSync } from "node:fs";
import { ConfigError, type Config } from "./config";
import { displayDb, parseDbTarget } from "./config-db";
import { DatabaseError } from "./db/client";
import { openStore } from "./db/open";
import { finalFlush, flushTick } from "./flush-ticker";
import { serverErrorOptions } from "./http/errors";
import { MAX_BODY_BYTES } from "./http/limits";
import type { Logger } from "./log";
import { bootstrapAdmin } from "./modules/tokens/bootstrap";
import { createServices } from "./services";
import { stopOnSignals } from "./shutdown";
import { VERSION } from "./version";
import { DomainError } from "./lib/errors";

/**
 * Bun refuses bodies past this before Keyward sees them, with a bare 413. It is above Keyward's own
 * limit so that a body with a declared length gets Keyward's 413 in the error shape instead.
 */
const BUN_BODY_CAP = 8 * MAX_BODY_BYTES;

/** How often batched usage counts and audit events reach the database. */
const FLUSH_INTERVAL_MS = 1000;

/** A taken port in words: another program, perhaps another keyward serve, listens there. */
function listenFailure(error: unknown, { host, port }: Config): unknown {
  if ((error as { code?: unknown }).code !== "EADDRINUSE") return error;
  return new DomainError("conflict", "port_in_use", `${displayHost(host)}:${port} is in use: another program (another keyward serve?) listens there`);
}

/**
 * Opens and migrates the database, then serves until SIGTERM or SIGINT. Stopping lets requests in
 * flight finish, writes what is batched in memory, then closes the database: nothing is lost.
 * It is bounded (see shutdown.ts): whatever hangs, the process ends.
 */
export async function serve(config: Config, log: Logger): Promise<void> {
  // Whoever reads our output may go away (a killed test run, a closed terminal): what we print then
  // is dropped, never an uncaught error. Log lines are guarded the same way in log.ts.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  refuseReadableDatabase(config);
  const tls = tlsFiles(config);
  const { store, migration } = await openStore(config.db);
  const { applied, current } = migration;
  if (applied.length > 0) log.info("database migrated", { db: displayDb(config.db), applied: applied.join(","), schema: current });

  const services = await createServices(store, config, log);
  const app = createApp(services);
  let server: NonNullable<typeof app.server>;
  try {
    // Not SO_REUSEPORT (Elysia's default): a second server started on a taken port would silently
    // share its requests with the first, each with its own lockouts, rate limits and caches.
    server = app.listen({ hostname: config.host, port: config.port, reusePort: false, maxRequestBodySize: BUN_BODY_CAP, ...serverErrorOptions(log), ...(tls ? { tls } : {}) }).server!;
  } catch (error) {
    throw listenFailure(error, config);
  }
  const url = `${tls ? "https" : "http"}://${displayHost(server.hostname ?? config.host)}:${server.port}`;
  log.info("listening", { url, version: VERSION, db: displayDb(config.db) });
  if (!tls) log.warn("serving plain HTTP: tokens travel in clear text on the network; set KEYWARD_TLS_CERT and KEYWARD_TLS_KEY (keyward tls init)");

  const first = await bootstrapAdmin(store, config.tokenTtl);
  if (first) {
    log.warn("no admin token existed: created one and printed it once on standard output", { token_id: first.row.id });
    // Bound to every interface, the box is reachable at its own address; localhost works for the example.
    process.stdout.write(bootstrapBanner(first.token, url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")));
  }

  // The binary starts with the JIT held back (scripts/compile.ts): startup code runs once, and
  // compiling it costs more than it saves. From here on it serves, and the JIT pays for itself.
  Bun.unsafe.setJITPolicy(1);
  const ticker = setInterval(flushTick(() => services.flush(), log), FLUSH_INTERVAL_MS);

  await stopOnSignals({
    log,
    handlers: services.handlers,
    drainMs: config.stopDrain,
    stopListening: (force) => server.stop(force),
    async close() {
      clearInterval(ticker);
      await services.stop();
      try {
        await finalFlush(() => services.flush());
      } finally {
        await store.close();
      }
    },
  });
}

function bootstrapBanner(token: string, url: string): string {
  const rule = "=".repeat(78);
  return [
    rule,
    "Keyward had no admin token, so it made one. It is shown only this once:",
    "",
    `    ${token}`,
    "",
    "Keep it somewhere safe. Use it as a Bearer token, for example:",
    `    curl -H "Authorization: Bearer ${token}" ${url}/api/v1/tokens`,
    rule,
    "",
  ].join("\n");
}

/** A database other users can read gives away every hash and the device signing key. */
function refuseReadableDatabase({ db, allowInsecurePermissions }: Config): void {
  if (allowInsecurePermissions || db === ":memory:" || parseDbTarget(db).kind === "postgres" || !existsSync(db)) return;
  const mode = statSync(db).mode & 0o777;
  if (mode & 0o007) {
    throw new DatabaseError(
      `${db} can be read or written by any user of this machine (mode ${mode.toString(8).padStart(4, "0")}); run chmod 600 ${db}, or start with --allow-insecure-permissions`,
    );
  }
}

function tlsFiles({ tlsCert, tlsKey }: Config): { cert: BunFile; key: BunFile } | null {
  if (tlsCert === null && tlsKey === null) return null;
  if (tlsCert === null || tlsKey === null) throw new ConfigError("KEYWARD_TLS_CERT and KEYWARD_TLS_KEY go together: give both, or neither");
  for (const file of [tlsCert, tlsKey]) if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
  return { cert: Bun.file(tlsCert), key: Bun.file(tlsKey) };
}

function displayHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
