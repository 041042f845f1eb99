import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { STOP_MARGIN_MS } from "../../src/shutdown";
import { ADMIN_TOKEN } from "../helpers/api";
import { binaryPath, buildOnce, cleanEnv, tempDir } from "../helpers/binary";
import { freePort, serverPool } from "../helpers/server";
import { until } from "../helpers/until";

/** The drain is KEYWARD_STOP_DRAIN, shortened from its default (8 s) so waiting it out costs little. */
const DRAIN_MS = 1_000;
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_STOP_DRAIN: `${DRAIN_MS / 1000}s` } });

/** A POST /login whose chunked body never ends: its handler waits for the rest, forever. */
async function hangingLogin(url: string): Promise<Bun.Socket> {
  const { hostname, port } = new URL(url);
  const socket = await Bun.connect({ hostname, port: Number(port), socket: { data() {} } });
  socket.write(`POST /login HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"id"\r\n`);
  // Nothing observable marks "the handler has started"; the stop's own log line below proves it had.
  await Bun.sleep(200);
  return socket;
}

/** CPU time (user + system) the process has used, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticksPerSecond = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work;
  return [result, performance.now() - started];
}

describe("stopping always stops", () => {
  test("SIGTERM with a handler that never finishes: its connection is closed after the drain, and the process exits within the bound", async () => {
    const server = await start();
    const socket = await hangingLogin(server.url);
    const [code, ms] = await timed(server.stop("SIGTERM"));
    socket.end();
    expect(code).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(DRAIN_MS);
    expect(ms).toBeLessThan(DRAIN_MS + STOP_MARGIN_MS);
    const messages = server.events().map((e) => e.msg);
    expect(server.events().find((e) => e.msg === "requests still running: closing their connections")).toMatchObject({ running: 1, after_ms: DRAIN_MS });
    expect(messages).toContain("stopped");
    const db = new Database(server.db, { readonly: true });
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    db.close();
  }, 30_000);

  test.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)("a second signal (%s) while the first SIGTERM waits for a hung handler exits at once, with %i", async (second, exitCode) => {
    const server = await start();
    const socket = await hangingLogin(server.url);
    server.proc.kill("SIGTERM");
    await until(() => server.events().some((e) => e.msg === "stopping"), "the stopping line");
    const [code, ms] = await timed(server.stop(second));
    socket.end();
    expect(code).toBe(exitCode);
    expect(ms).toBeLessThan(2_000);
    expect(server.events().find((e) => e.msg === "second signal: stopping at once")).toMatchObject({ signal: second });
  }, 30_000);

  test("with its stdout and stderr closed under it, the server still answers, does not spin, and SIGTERM still stops it, writing what it held", async () => {
    const { proc, url, db, closeOutput } = await startOnFifo();
    try {
      // Nobody reads: the pipe fills (64 KiB) and the server holds log lines it cannot write yet.
      for (let i = 0; i < 600; i++) expect((await fetch(`${url}/api/v1/me`, authorized)).status).toBe(200);
      closeOutput();
      for (let i = 0; i < 50; i++) expect((await fetch(`${url}/api/v1/me`, authorized)).status).toBe(200);
      expect((await fetch(`${url}/no/such/route`)).status).toBe(404);

      // The first second after a burst goes to the JIT and the garbage collector; then measure.
      await Bun.sleep(1_000);
      const before = cpuSeconds(proc.pid);
      await Bun.sleep(2_000);
      // A process spinning on a dead pipe burns ~2 s of CPU here; an idle one a few hundredths.
      expect(cpuSeconds(proc.pid) - before).toBeLessThan(0.5);

      proc.kill("SIGTERM");
      const [code, ms] = await timed(proc.exited);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(2_000);
    } finally {
      proc.kill("SIGKILL");
    }
    const store = new Database(db, { readonly: true });
    const { count } = store.query("SELECT request_count AS count FROM tokens WHERE name = 'KEYWARD_ADMIN_TOKEN'").get() as { count: number };
    store.close();
    expect(count).toBe(650);
  }, 30_000);

  test("with a reader that stalls (its pipe full of log lines), SIGTERM still exits promptly, with 0", async () => {
    const { proc, url, closeOutput } = await startOnFifo();
    try {
      for (let i = 0; i < 1000; i++) expect((await fetch(`${url}/api/v1/me`, authorized)).status).toBe(200);
      proc.kill("SIGTERM");
      const [code, ms] = await timed(proc.exited);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(3_000);
    } finally {
      proc.kill("SIGKILL");
      closeOutput();
    }
  }, 30_000);
});

const authorized = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };

/**
 * Starts the binary with stdout and stderr on a FIFO the test holds open but never reads (debug
 * logging, so every request writes a line); closeOutput() closes the reading end under it.
 */
async function startOnFifo() {
  await buildOnce();
  const cwd = tempDir();
  const fifo = join(cwd, "output");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const db = join(cwd, "keyward.db");
  const proc = Bun.spawn([binaryPath, "serve", "--host", "127.0.0.1", "--port", String(port), "--db", db], {
    cwd,
    env: cleanEnv({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_LOG: "debug" }),
    stdin: "ignore",
    stdout: writer,
    stderr: writer,
  });
  closeSync(writer);
  await until(() => {
    if (proc.exitCode !== null) throw new Error(`keyward did not start (exit ${proc.exitCode})`);
    return fetch(`${url}/health`).then((r) => r.ok, () => false);
  }, "keyward to answer /health", 10_000);
  let open = true;
  const closeOutput = () => {
    if (open) closeSync(reader);
    open = false;
  };
  return { proc, url, db, closeOutput };
}
