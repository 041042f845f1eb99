import { SQL } from "bun";
import { afterAll, afterEach, beforeAll } from "bun:test";
import { existsSync, globSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type RunningServer, type StartOptions } from "./server";

/**
 * Debian's PostgreSQL binaries (not on PATH there), the newest major version installed. CI installs
 * them (.ci/run); elsewhere the PostgreSQL tests are skipped without them, except under CI=true.
 */
export const postgresBin = globSync("/usr/lib/postgresql/*/bin")
  .filter((dir) => existsSync(join(dir, "pg_ctl")))
  .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
  .at(-1);
export const hasPostgres = postgresBin !== undefined || process.env.CI === "true";

/** The superuser the harness creates, reached over TCP with a password, as Keyward will be. */
const POSTGRES_USER = "keyward";

export interface Postgres {
  /** `postgres://keyward:<password>@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  password: string;
  /** Stops the cluster at once and removes its directory. */
  stop(): Promise<void>;
  /** Stops the server at once (`-m immediate`: clients see a crash); its data and port stay for restart(). */
  crash(): Promise<void>;
  /** Stops the server as `pg_ctl restart -m fast` does first: sessions are ended, transactions rolled back; data and port stay for restart(). */
  fastStop(): Promise<void>;
  /** Starts the server again after crash() or fastStop(), on the same port (crash recovery first). */
  restart(): Promise<void>;
}

// initdb and postgres refuse to run as root: as root (CI, this machine) they run as `postgres`.
const asPostgres = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];

/**
 * Removes the cluster once our end of its stdin closes: at stop(), or when the test process dies
 * however it dies (bun test workers run no exit hooks, and a killed one runs nothing). setsid keeps
 * a terminal's Ctrl-C, sent to the whole process group, from killing it before it has cleaned up;
 * it ignores SIGTERM, which bun test sends every process a file started when one of its tests times out.
 */
const WATCHDOG = `dir=$1; pg_ctl=$2; shift 2
trap '' TERM
cat >/dev/null
"$@" "$pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$dir"`;

/** Runs a command to completion; its exit code and everything it printed. */
async function run(command: string[]): Promise<{ code: number; printed: string }> {
  const proc = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, printed: stderr + stdout };
}

async function must(command: string[]): Promise<void> {
  const { code, printed } = await run(command);
  if (code !== 0) throw new Error(`${command.join(" ")} failed (${code}): ${printed}`);
}

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1 (one per test file, about a second to start): its
 * own data directory and socket in a temporary directory, fsync off (the tests may crash Keyward or
 * PostgreSQL, never the machine), password (SCRAM) authentication over TCP.
 */
export async function startPostgres(): Promise<Postgres> {
  if (!postgresBin) throw new Error("no PostgreSQL in /usr/lib/postgresql/*/bin: install Debian's postgresql package");
  const bin = postgresBin;
  const dir = mkdtempSync(join(tmpdir(), "keyward-pg-"));
  const watchdog = Bun.spawn(["sh", "-c", WATCHDOG, "watchdog", dir, join(bin, "pg_ctl"), ...asPostgres], {
    stdin: "pipe",
    stdout: "ignore",
    stderr: "ignore",
    detached: true,
  });
  // Never what keeps a test process alive: its exit closes the pipe, and the watchdog cleans up.
  watchdog.unref();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await watchdog.stdin.end();
      await watchdog.exited;
    })());
  try {
    if (asPostgres.length > 0) await must(["chown", "postgres:", dir]);
    const password = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
    const pwfile = join(dir, "pw");
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (asPostgres.length > 0) await must(["chown", "postgres:", pwfile]);
    await must([
      ...asPostgres, join(bin, "initdb"), "-D", join(dir, "data"), "-U", POSTGRES_USER, `--pwfile=${pwfile}`,
      "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
    ]);
    rmSync(pwfile);
    const port = await listen(bin, dir);
    const stopMode = (mode: string) => must([...asPostgres, join(bin, "pg_ctl"), "-D", join(dir, "data"), "-m", mode, "-w", "stop"]);
    const crash = () => stopMode("immediate");
    const fastStop = () => stopMode("fast");
    const restart = async () => {
      const start = await startOn(bin, dir, port);
      if (start.code !== 0) throw new Error(`pg_ctl start failed: ${start.printed}`);
    };
    return { url: `postgres://${POSTGRES_USER}:${password}@127.0.0.1:${port}/postgres`, port, password, stop, crash, fastStop, restart };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts the server on a free port; another process may take that port first, so once more on a collision. */
async function listen(bin: string, dir: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = freePort();
    const start = await startOn(bin, dir, port);
    if (start.code === 0) return port;
    if (attempt >= 2 || !start.printed.includes("could not bind")) throw new Error(`pg_ctl start failed: ${start.printed}`);
  }
}

/** pg_ctl start on `port`, waiting until it accepts connections; what it printed, its log included. */
async function startOn(bin: string, dir: string, port: number): Promise<{ code: number; printed: string }> {
  // fsync only: a commit PostgreSQL acknowledged must survive its own crash (tests stop it with -m immediate).
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k '${dir}' -c fsync=off`;
  const log = join(dir, `log-${port}`);
  const start = await run([...asPostgres, join(bin, "pg_ctl"), "-D", join(dir, "data"), "-l", log, "-w", "-t", "30", "-o", options, "start"]);
  return { code: start.code, printed: existsSync(log) ? readFileSync(log, "utf8") : start.printed };
}

let databases = 0;

/** A fresh, empty database on the cluster (one per test): its URL. */
export async function createDatabase(pg: Postgres): Promise<string> {
  const name = `kw_${process.pid}_${++databases}`;
  const admin = new SQL(pg.url);
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.close();
  }
  return pg.url.replace(/\/postgres$/, `/${name}`);
}

/**
 * For a test file on its own throwaway cluster: started before the file's tests (when PostgreSQL
 * is here), stopped after them. What a test registers with `closeAfter` (a store holds a pool)
 * is closed after that test, or the cluster would run out of connections.
 */
export function throwawayCluster() {
  let pg: Postgres | undefined;
  const opened: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    if (hasPostgres) pg = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
  });
  afterAll(async () => {
    await pg?.stop();
  });
  return {
    get pg(): Postgres {
      if (pg === undefined) throw new Error("no PostgreSQL cluster: skip the tests with hasPostgres");
      return pg;
    },
    closeAfter<T extends { close(): Promise<void> }>(store: T): T {
      opened.push(store);
      return store;
    },
  };
}

/** The change signal's version (keyward_state), read on a connection of its own. */
export async function changeVersion(url: string): Promise<number> {
  const sql = new SQL(url);
  try {
    return Number((await sql`SELECT version FROM keyward_state`)[0].version);
  } finally {
    await sql.close();
  }
}

/** Two instances of the binary on a fresh database of `pg`; the second starts once the first has migrated it. */
export async function twoInstances(start: (options: StartOptions) => Promise<RunningServer>, pg: Postgres): Promise<{ db: string; a: RunningServer; b: RunningServer }> {
  const db = await createDatabase(pg);
  const a = await start({ db });
  const b = await start({ db });
  return { db, a, b };
}
