import { afterEach } from "bun:test";
import { join } from "node:path";
import { binaryPath, buildOnce, cleanEnv, tempDir } from "./binary";
import { until } from "./until";

export interface StartOptions {
  /** Working directory; a fresh temporary one by default. */
  cwd?: string;
  /** Database path; `<cwd>/keyward.db` by default. Pass null to use the binary's own default. */
  db?: string | null;
  env?: Record<string, string>;
  args?: string[];
  binary?: string;
}

export interface RunningServer {
  url: string;
  cwd: string;
  db: string;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the server logged so far (JSON lines on stderr). */
  logs(): string;
  /** The parsed log events so far. */
  events(): Record<string, unknown>[];
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

/**
 * Starts the compiled binary on a free loopback port with its own database, and waits until
 * /health answers. Logs are JSON unless the test's env says otherwise.
 */
export async function startKeyward(options: StartOptions = {}): Promise<RunningServer> {
  await buildOnce();
  const cwd = options.cwd ?? tempDir();
  const db = options.db === null ? join(cwd, "data/keyward.db") : (options.db ?? join(cwd, "keyward.db"));
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const dbArgs = options.db === null ? [] : ["--db", db];
  const proc = Bun.spawn(
    [options.binary ?? binaryPath, "serve", "--host", "127.0.0.1", "--port", String(port), ...dbArgs, ...(options.args ?? [])],
    { cwd, env: cleanEnv({ KEYWARD_LOG_FORMAT: "json", ...options.env }), stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  let stderr = "";
  let stdout = "";
  const pump = async (stream: ReadableStream<Uint8Array>, append: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  };
  void pump(proc.stderr, (s) => (stderr += s));
  void pump(proc.stdout, (s) => (stdout += s));

  const events = () =>
    stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  const answers = () => fetch(`${url}/health`).then((r) => r.ok, () => false);
  await until(() => proc.exitCode !== null || answers(), "keyward to answer /health", 10_000).catch(() => undefined);
  if (proc.exitCode !== null || !(await answers())) {
    proc.kill("SIGKILL");
    throw new Error(`keyward did not start (exit ${proc.exitCode}):\n${stdout}\n${stderr}`);
  }
  return {
    url,
    cwd,
    db,
    proc,
    logs: () => stdout + stderr,
    events,
    fetch: (path, init) => fetch(url + path, init),
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}

/**
 * For a test file that starts servers in its tests: returns `start`, which remembers each server,
 * and stops them all after each test, passed or failed.
 */
export function serverPool(defaults: StartOptions = {}) {
  const running: RunningServer[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.stop("SIGKILL")));
  });
  return async (options: StartOptions = {}): Promise<RunningServer> => {
    const server = await startKeyward({ ...defaults, ...options, env: { ...defaults.env, ...options.env } });
    running.push(server);
    return server;
  };
}
