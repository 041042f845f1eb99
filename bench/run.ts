/**
 * npm run bench: bare Bun.serve (the ceiling), the floor (a hand-written Bun.serve doing the same
 * token check as GET /data), the compiled Keyward, and Fastify with @fastify/bearer-auth on Node,
 * side by side on loopback, driven by wrk; and the device checks of a key-bound device, with a DPoP
 * proof per request (bench/dpop.ts). Servers are pinned to CPU 0 and wrk to CPU 1 when
 * taskset exists. Ratios are taken round by round (each round runs every contender once, in turn),
 * so a machine that slows down for a while slows all of them alike. Writes bench/RESULTS.md and
 * bench/chart.svg.
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { REPLAY_LIMITS } from "../src/modules/auth/proof-replays";
import { renderChart } from "./chart";
import { DEVICES, enrollKeyedDevices, proofScripts, type DeviceRequest, type KeyedDevice } from "./dpop";
import { withPostgres } from "./postgres";
import { profileTable, profileUnderLoad } from "./profile";

const root = resolve(import.meta.dir, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = [64, 256];
const ADMIN = "bench-admin-token-0123456789abcdef";
const WRK_THREADS = 1;

const hasTaskset = Bun.spawnSync(["which", "taskset"]).exitCode === 0 && cpus().length >= 2;
const pin = (cpu: number) => (hasTaskset ? ["taskset", "-c", String(cpu)] : []);

if (Bun.spawnSync(["which", "wrk"]).exitCode !== 0) {
  console.error("bench needs wrk (Debian: apt-get install -y wrk)");
  process.exit(1);
}

interface Server {
  name: string;
  url: string;
  proc: Bun.Subprocess;
}

const scratches: string[] = [];
/** A temporary directory, removed when the run ends (the million-token database alone is 300 MB). */
function scratch(prefix: string): string {
  const made = mkdtempSync(join(tmpdir(), prefix));
  scratches.push(made);
  return made;
}
process.on("exit", () => {
  for (const made of scratches) rmSync(made, { recursive: true, force: true });
});

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

async function waitFor(url: string, timeoutMs = 10_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await fetch(url).then((r) => r.status < 500, () => false)) return performance.now() - start;
    await Bun.sleep(1);
  }
  throw new Error(`${url} did not answer`);
}

async function start(name: string, command: string[], env: Record<string, string> = {}): Promise<Server> {
  const port = freePort();
  const proc = Bun.spawn([...pin(0), ...command.map((part) => part.replace("{port}", String(port)))], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/health`).catch(() => waitFor(`${url}/data`));
  return { name, url, proc };
}

function keyward(dir: string, env: Record<string, string> = {}, db = join(dir, "keyward.db")) {
  return start("keyward", [join(root, "dist/keyward"), "serve", "--host", "127.0.0.1", "--port", "{port}", "--db", db], {
    KEYWARD_ADMIN_TOKEN: ADMIN,
    KEYWARD_LOG: "warn",
    KEYWARD_MAX_FAILURES: "1000000",
    SECRET_KEY: "bench-signing-secret-0123456789abcdef-xyz",
    ...env,
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

/** CPU time the process has used (user and system, all threads), in microseconds. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(new TextDecoder().decode(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout).trim()) || 100;

interface Run {
  rps: number;
  p50: number;
  p99: number;
  rssMb: number;
  errors: number;
  /** The server's CPU time per answered request: steadier than req/s on a noisy machine. */
  cpuUs: number;
}

const toMs = (value: string, unit: string) => Number(value) * (unit === "us" ? 0.001 : unit === "s" ? 1000 : 1);

async function wrk(server: Server, path: string, connections: number, headers: string[] = [], lua?: string, seconds = SECONDS): Promise<Run> {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.proc.pid))), 200);
  const args = [...pin(1), "wrk", `-t${WRK_THREADS}`, `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency", ...headers.flatMap((h) => ["-H", h])];
  const cpuBefore = cpuMicros(server.proc.pid);
  const proc = Bun.spawn([...args, ...(lua ? ["-s", lua] : []), `${server.url}${path}`], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const cpu = cpuMicros(server.proc.pid) - cpuBefore;
  clearInterval(sampler);
  const latency = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50: latency("50"),
    p99: latency("99"),
    rssMb: peak,
    errors: non2xx + socketErrors,
    cpuUs: requests > 0 ? cpu / requests : NaN,
  };
}

const median = (runs: Run[]): Run => {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function luaPost(path: string, body: string, token?: string): string {
  const file = join(scratch("keyward-bench-"), "post.lua");
  writeFileSync(
    file,
    [`wrk.method = "POST"`, `wrk.body = ${JSON.stringify(body)}`, `wrk.headers["Content-Type"] = "application/json"`, ...(token ? [`wrk.headers["Authorization"] = "Bearer ${token}"`] : [])].join("\n"),
  );
  return file;
}

async function post(server: Server, path: string, body: unknown, token = ADMIN) {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, string>;
}

/** Rows like the ones Keyward writes, straight into the file, to measure lookups among a million tokens. */
function seedTokens(dbPath: string, count: number): void {
  const db = new Database(dbPath);
  const insert = db.prepare("INSERT INTO tokens (id, user, role, hash, hint, source, created_at, request_count) VALUES (?, ?, 'user', ?, 'kw_…xxxx', 'api', ?, 0)");
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      insert.run(`tok_seed${i.toString(36).padStart(8, "0")}`, `user${i % 5000}`, new Bun.CryptoHasher("sha256").update(`seed ${i}`).digest("hex"), now);
    }
  })();
  db.close();
}

async function coldStart(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const dir = scratch("keyward-cold-");
    const port = freePort();
    const begin = performance.now();
    const proc = Bun.spawn([join(root, "dist/keyward"), "serve", "--host", "127.0.0.1", "--port", String(port), "--db", join(dir, "k.db")], {
      env: { PATH: process.env.PATH ?? "", KEYWARD_ADMIN_TOKEN: ADMIN, KEYWARD_LOG: "warn" },
      stdout: "ignore",
      stderr: "ignore",
    });
    while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) await Bun.sleep(1);
    times.push(performance.now() - begin);
    proc.kill();
    await proc.exited;
  }
  return times.sort((a, b) => a - b)[2]!;
}

// ---- the comparison: every contender once per round, in turn, for each connection count ----
const dir = scratch("keyward-bench-");
const kw = await keyward(dir);
const { token, id: tokenId } = (await post(kw, "/api/v1/tokens", { user: "bench", expires_in: "never" })) as { token: string; id: string };
for (let i = 0; i < 999; i++) await post(kw, "/api/v1/tokens", { user: `filler${i}` });
const device = await post(kw, "/api/v1/tokens/main", { hardware_fingerprint: "fp-bench" });
// Key-bound devices are served by a second instance on the same file: their proof checks allocate
// far more than a token check, which would swell the first one's RSS under the other contenders.
const keyedKw = await keyward(dir, { KEYWARD_DEVICE_ENROLL_RATE: String(DEVICES + 1) });
const keyed = await enrollKeyedDevices(keyedKw.url, DEVICES);
const dpopScript = (request: (device: KeyedDevice) => DeviceRequest) => proofScripts(scratch("keyward-dpop-"), keyedKw.url, keyed, request, WRK_THREADS);
const verifyScript = dpopScript(({ short, fingerprint }) => ({ path: `/api/v1/tokens/verify?short_token=${short}&hardware_fingerprint=${fingerprint}` }));
const ceiling = await start("bun", ["bun", "bench/ceiling.ts", "{port}"]);
const floor = await start("floor", ["bun", "bench/floor.ts", "{port}", token, tokenId]);
const elysiaFloor = await start("elysia", ["bun", "bench/elysia-floor.ts", "{port}", token, tokenId]);
const fastify = await start("fastify", ["node", "bench/fastify-peer.mjs", "{port}", token]);

const auth = [`Authorization: Bearer ${token}`];
interface Contender {
  name: string;
  label: string;
  server: Server;
  path: string;
  headers: string[];
  /** Makes the wrk script for a run of so many seconds, just before it: DPoP proofs are single-use and expire. */
  script?: (seconds: number) => string;
}
const contenders: Contender[] = [
  { name: "bun", label: "bare Bun.serve", server: ceiling, path: "/data", headers: auth },
  { name: "floor", label: "floor: hand-written Bun.serve, same check", server: floor, path: "/data", headers: auth },
  { name: "elysia", label: "the floor's check as one Elysia route (bench/elysia-floor.ts)", server: elysiaFloor, path: "/data", headers: auth },
  { name: "keyward", label: "Keyward GET /data", server: kw, path: "/data", headers: auth },
  { name: "forward", label: "Keyward /auth/forward", server: kw, path: "/auth/forward", headers: auth },
  { name: "short", label: "Keyward device short-token check", server: kw, path: `/api/v1/tokens/verify?short_token=${device.short_token}&hardware_fingerprint=fp-bench`, headers: [] },
  {
    name: "dpop",
    label: "Keyward device short-token check, key-bound (DPoP proof per request)",
    server: keyedKw,
    path: "/api/v1/tokens/verify",
    headers: [],
    script: verifyScript,
  },
  { name: "fastify", label: "Fastify + bearer-auth (Node)", server: fastify, path: "/data", headers: auth },
];
const runs: Record<string, Record<number, Run[]>> = {};
for (const connections of CONNECTIONS) {
  for (let round = 0; round < ROUNDS; round++) {
    for (const { name, server, path, headers, script } of contenders) {
      const run = await wrk(server, path, connections, headers, script?.(SECONDS));
      ((runs[name] ??= {})[connections] ??= []).push(run);
      console.log(`${name.padEnd(8)} c=${connections} round ${round + 1}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99} ms, ${run.cpuUs.toFixed(1)} µs CPU/request, errors ${run.errors}`);
    }
  }
}
ceiling.proc.kill();
fastify.proc.kill();

// ---- paired: Keyward and the floor at the same time, sharing one core ----
// This VM's speed swings by half within seconds, so two runs one after the other can differ by
// 30% with the same code. Served at once on one core, both see the same machine: the ratio of
// what each answers (and of their CPU time per request) holds steady within a few percent.
const PAIRED_ROUNDS = Number(process.env.BENCH_PAIRED_ROUNDS ?? 10);
const PAIRED_SECONDS = 2;
interface Paired {
  /** Median over rounds of Keyward's req/s over the floor's in the same round. */
  rps: number;
  /** The same for CPU time per request: the floor's over Keyward's. */
  cpu: number;
  rounds: number[];
  /** Non-2xx answers and socket errors of both, over all rounds. */
  errors: number;
}
type Target = Pick<Contender, "name" | "server" | "path" | "headers" | "script">;
async function paired(contender: Target, connections: number, baseline: Target = { name: "floor", server: floor, path: "/data", headers: auth }, rounds = PAIRED_ROUNDS): Promise<Paired> {
  const rps: number[] = [];
  const cpu: number[] = [];
  let errors = 0;
  for (let round = 0; round < rounds; round++) {
    const scripts = [contender, baseline].map(({ script }) => script?.(PAIRED_SECONDS));
    const [ours, theirs] = await Promise.all([contender, baseline].map(({ server, path, headers }, i) => wrk(server, path, connections, headers, scripts[i], PAIRED_SECONDS)));
    rps.push(ours!.rps / theirs!.rps);
    cpu.push(theirs!.cpuUs / ours!.cpuUs);
    errors += ours!.errors + theirs!.errors;
  }
  console.log(`paired ${contender.name} with ${baseline.name} c=${connections}: ${rps.map((r) => r.toFixed(2)).join(" ")}, errors ${errors}`);
  return { rps: middle(rps), cpu: middle(cpu), rounds: rps, errors };
}
const pairs: Record<string, Record<number, Paired>> = {};
for (const connections of CONNECTIONS) {
  for (const contender of contenders.filter((c) => ["elysia", "keyward", "forward", "short"].includes(c.name))) {
    (pairs[contender.name] ??= {})[connections] = await paired(contender, connections);
  }
}
// /auth/forward does more than GET /data (reads its URL for ?role=, three identity headers, a
// longer body): the same route paired with the floor answering as it does says how much of its gap
// that is, and Elysia alone answering as it does, paired with the GET /data floor, is as near that
// floor as any /auth/forward served by Elysia can come.
const forwardContender = contenders.find((c) => c.name === "forward")!;
const forwardFloor: Target = { name: "floor /auth/forward", server: floor, path: "/auth/forward", headers: auth };
const elysiaForward: Target = { name: "elysia /auth/forward", server: elysiaFloor, path: "/auth/forward", headers: auth };
const ownFloor: Record<number, Paired> = {};
const forwardBound: Record<number, Paired> = {};
for (const connections of CONNECTIONS) {
  ownFloor[connections] = await paired(forwardContender, connections, forwardFloor);
  forwardBound[connections] = await paired(elysiaForward, connections);
}
floor.proc.kill();
elysiaFloor.proc.kill();

// ---- the same hot path with PostgreSQL as the store (issue 16), paired with SQLite ----
// A warm cache answers without PostgreSQL, so the two should match; both serve at once, as above.
const onPostgres = await withPostgres(async (url) => {
  const pg = await keyward(dir, {}, url);
  const pgToken = (await post(pg, "/api/v1/tokens", { user: "bench", expires_in: "never" })).token!;
  const result: Record<number, Paired> = {};
  for (const connections of CONNECTIONS) {
    result[connections] = await paired({ name: "keyward-pg", server: pg, path: "/data", headers: [`Authorization: Bearer ${pgToken}`] }, connections, { name: "keyward", server: kw, path: "/data", headers: auth });
  }
  pg.proc.kill();
  await pg.proc.exited;
  return result;
});

// ---- GET /data with a rate-limited token (issue 17), paired with an unlimited one ----
// A limit high enough never to trigger, so this is what the check costs: a second instance on the
// same file serves the limited token while the first serves the unlimited one, both at once as above.
const limitedKw = await keyward(dir);
const limitedToken = (await post(kw, "/api/v1/tokens", { user: "bench-limited", expires_in: "never", rate_limit: { requests: 1_000_000, per: "1s" } })).token!;
const rateLimited: Record<number, Paired> = {};
for (const connections of CONNECTIONS) {
  rateLimited[connections] = await paired(
    { name: "keyward-rate-limited", server: limitedKw, path: "/data", headers: [`Authorization: Bearer ${limitedToken}`] },
    connections,
    { name: "keyward", server: kw, path: "/data", headers: auth },
  );
}
limitedKw.proc.kill();
await limitedKw.proc.exited;

// ---- key-bound devices (issue 18): each request with a fresh DPoP proof, paired with the same
// request from a device enrolled without a key. The second instance serves the bound devices (the
// proofs of its runs above left its replay cache minutes ago) while the first serves the other,
// both at once as above. At 64 connections only: the proof check is CPU-bound far below that, so
// 256 only adds queueing.
const DPOP_PAIRED_ROUNDS = 5;
const withKey: { label: string; plain: string; result: Paired }[] = [
  {
    label: "device short-token check, proof without ath",
    plain: "the same check of an unbound device (the device short-token check above)",
    result: await paired({ name: "dpop-verify", server: keyedKw, path: "/api/v1/tokens/verify", headers: [], script: verifyScript }, 64, contenders.find((c) => c.name === "short")!, DPOP_PAIRED_ROUNDS),
  },
  {
    label: "GET /api/v1/me, main token as `Authorization: DPoP` with a proof carrying ath",
    plain: "an unbound device's main token as Bearer with X-Hardware-Fingerprint",
    result: await paired(
      { name: "dpop-me", server: keyedKw, path: "/api/v1/me", headers: [], script: dpopScript(({ main }) => ({ path: "/api/v1/me", authorization: `DPoP ${main}`, token: main })) },
      64,
      { name: "device-me", server: kw, path: "/api/v1/me", headers: [`Authorization: Bearer ${device.main_token}`, "X-Hardware-Fingerprint: fp-bench"] },
      DPOP_PAIRED_ROUNDS,
    ),
  },
];
keyedKw.proc.kill();
await keyedKw.proc.exited;

/** The median, over rounds, of one contender's req/s divided by another's in the same round. */
const ratio = (name: string, to: string, c: number) => middle(runs[name]![c]!.map((run, i) => run.rps / runs[to]![c]![i]!.rps));
const m = (name: string, c: number) => median(runs[name]![c]!);
const cpuOf = (name: string, c: number) => middle(runs[name]![c]!.map((run) => run.cpuUs));
const p99Of = (name: string, c: number) => middle(runs[name]![c]!.map((run) => run.p99));

// ---- Keyward's other scenarios ----
await post(kw, "/api/v1/users", { username: "benchuser", password: "correct horse battery" });
const scenarios: Record<string, Run> = {};
const scenario = async (name: string, run: () => Promise<Run>) => {
  scenarios[name] = median([await run(), await run()]);
  const r = scenarios[name]!;
  console.log(`${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}`);
};
await scenario("token creation (c=64)", () => wrk(kw, "/api/v1/tokens", 64, [], luaPost("/api/v1/tokens", JSON.stringify({ user: "created" }), ADMIN)));
await scenario("password login, argon2id (c=4)", () => wrk(kw, "/login", 4, [], luaPost("/login", JSON.stringify({ username: "benchuser", password: "correct horse battery" }))));
kw.proc.kill();
await kw.proc.exited;

// ---- where Keyward's CPU goes on the hot path ----
const hot = await profileUnderLoad((env) => keyward(dir, env), (server) => wrk(server, "/data", 64, auth), scratch("keyward-profile-"));

// ---- a million tokens ----
const million = scratch("keyward-million-");
const big = await keyward(million);
const bigToken = (await post(big, "/api/v1/tokens", { user: "bench", expires_in: "never" })).token!;
big.proc.kill();
await big.proc.exited;
const seedStart = performance.now();
seedTokens(join(million, "keyward.db"), 999_999);
console.log(`seeded 999,999 tokens in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
const bigAgain = await keyward(million);
const millionRuns: Record<number, Run> = {};
for (const connections of CONNECTIONS) {
  const rounds: Run[] = [];
  for (let round = 0; round < ROUNDS; round++) rounds.push(await wrk(bigAgain, "/data", connections, [`Authorization: Bearer ${bigToken}`]));
  millionRuns[connections] = median(rounds);
  console.log(`1M tokens c=${connections}: ${millionRuns[connections]!.rps.toFixed(0)} req/s`);
}
bigAgain.proc.kill();
await bigAgain.proc.exited;

const cold = await coldStart();
console.log(`cold start to first 200: ${cold.toFixed(1)} ms (median of 5)`);

// ---- report ----
const version = (cmd: string[]) => new TextDecoder().decode(Bun.spawnSync(cmd).stdout).trim().split("\n")[0];
const lines: string[] = [];
const row = (...cells: (string | number)[]) => lines.push(`| ${cells.join(" | ")} |`);
lines.push("# Benchmark results", "");
lines.push(`Run on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`npm run bench\`.`, "");
lines.push(`- Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Linux ${version(["uname", "-r"])}`);
lines.push(`- Versions: Keyward ${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}, Bun ${Bun.version}, Node ${version(["node", "--version"])}, ${version(["wrk", "-v"])}`);
lines.push(`- Load: wrk, 1 thread, ${SECONDS} s per run, ${ROUNDS} rounds; each round runs every contender once, in the order of the table. Ratios are the median of the round-by-round ratios; req/s, latency and CPU are medians.`);
lines.push("- Ratios to the floor in the targets are the paired ones (section below): Keyward and the floor measured at the same time on one core, the steadier figure on this machine.");
lines.push(`- Pinning: ${hasTaskset ? "servers on CPU 0, wrk on CPU 1 (taskset)" : "none (taskset missing or one core)"}.`);
lines.push("- Keyward: the compiled binary, KEYWARD_LOG=warn (no access-log line per request), usage tracking and request metrics on, 1,000 tokens in its database.");
lines.push("- The floor (`bench/floor.ts`): `Bun.serve` routes with no framework doing the token check itself — strict Bearer parse, shape and checksum, SHA-256, a cached lookup, expiry and revocation, a usage count, a JSON answer with the security headers. What Keyward costs above it is the framework and Keyward's own layers (metrics, lockout, audit, shutdown bookkeeping). It also answers /auth/forward as Keyward does (the same body and identity headers, its URL read for a `?role=` check), for the paired section.");
lines.push("- The floor's check as one Elysia route (`bench/elysia-floor.ts`): the same work, served by Elysia as Keyward is served. Its ratio to the floor is what Elysia itself costs; the rest of Keyward's gap is Keyward's own layers. It answers /auth/forward as the floor does too, as an Elysia route for every method like Keyward's.");
lines.push("- CPU µs/request: the server process's user + system time over the run, divided by the requests answered (about 70% of bare Bun's is kernel loopback time).", "");
for (const c of CONNECTIONS) {
  lines.push(`## ${c} connections`, "");
  row("server", "req/s", "p50 ms", "p99 ms", "CPU µs/request", "peak RSS MB", "errors", "× bare Bun.serve", "× floor", "× Fastify");
  row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
  for (const { name, label } of contenders) {
    const r = m(name, c);
    row(label, r.rps.toFixed(0), r.p50.toFixed(2), p99Of(name, c).toFixed(2), cpuOf(name, c).toFixed(1), r.rssMb.toFixed(0), r.errors, ratio(name, "bun", c).toFixed(2), ratio(name, "floor", c).toFixed(2), ratio(name, "fastify", c).toFixed(2));
  }
  lines.push("");
}
lines.push("![req/s by server and connections](chart.svg)", "", "## Paired with the floor", "");
lines.push(
  `Each Keyward route (and the floor's check as an Elysia route) and the floor served at the same time, both pinned to CPU 0, each loaded by its own wrk on CPU 1, ${PAIRED_ROUNDS} rounds of ${PAIRED_SECONDS} s: both see the same machine, so the ratio holds where runs one after the other swing (see the per-round ratios). × floor by req/s is what each answered in the same seconds; by CPU, the floor's CPU time per request over Keyward's.`,
  "",
);
row("route", "connections", "× floor (req/s)", "× floor (CPU per request)", "per round (req/s)");
row("---", "---:", "---:", "---:", "---");
for (const { name, label } of contenders.filter((c) => pairs[c.name])) {
  for (const c of CONNECTIONS) {
    const p = pairs[name]![c]!;
    row(label, c, p.rps.toFixed(2), p.cpu.toFixed(2), p.rounds.map((r) => r.toFixed(2)).join(" "));
  }
}
for (const [label, result] of [
  ["Keyward /auth/forward × the floor answering as /auth/forward does (bench/floor.ts)", ownFloor],
  ["the floor's /auth/forward as one Elysia route (bench/elysia-floor.ts) × the GET /data floor", forwardBound],
] as const) {
  for (const c of CONNECTIONS) {
    const p = result[c]!;
    row(label, c, p.rps.toFixed(2), p.cpu.toFixed(2), p.rounds.map((r) => r.toFixed(2)).join(" "));
  }
}
/** A section of paired runs against another Keyward: what is compared, then × that by req/s and CPU. */
const pairedSection = (title: string, what: string, against: string, result: Record<number, Paired> | null) => {
  lines.push("", `## ${title}`, "");
  if (result === null) return void lines.push("Skipped: no PostgreSQL on this machine.");
  lines.push(what, "");
  row("connections", `× ${against} (req/s)`, `× ${against} (CPU per request)`, "per round (req/s)");
  row("---:", "---:", "---:", "---");
  for (const c of CONNECTIONS) row(c, result[c]!.rps.toFixed(2), result[c]!.cpu.toFixed(2), result[c]!.rounds.map((r) => r.toFixed(2)).join(" "));
};
pairedSection(
  "PostgreSQL as the store",
  "GET /data with `KEYWARD_DB=postgres://…` (a throwaway PostgreSQL on loopback, warm cache) paired with the SQLite Keyward above, the same way: × SQLite by req/s and by CPU per request.",
  "SQLite",
  onPostgres,
);
pairedSection(
  "A rate-limited token",
  "GET /data with a token whose rate limit (1,000,000 per second) never triggers, served by a second instance on the same file, paired with the unlimited token on the first, the same way: × unlimited by req/s and by CPU per request.",
  "unlimited",
  rateLimited,
);
lines.push("", "## Key-bound devices (DPoP)", "");
lines.push(
  `Each request from a device enrolled with a P-256 key carries a DPoP proof (ES256) of its own, signed just before the run (a proof is spent once and refused after a minute). ${DEVICES} such devices take turns, as a key may spend only ${REPLAY_LIMITS.perKey.toLocaleString("en")} proofs a minute; served by a second instance on the same file (here and in the tables above), paired with the same request from a device enrolled without a key on the first, the same way (${DPOP_PAIRED_ROUNDS} rounds, 64 connections): × without a key by req/s and by CPU per request. Errors (non-2xx of both, a replayed or stale proof among them) must be 0. The tables above have the first alone, at both connection counts: "key-bound (DPoP proof per request)".`,
  "",
);
row("request", "without a key", "× without a key (req/s)", "× without a key (CPU per request)", "errors", "per round (req/s)");
row("---", "---", "---:", "---:", "---:", "---");
for (const { label, plain, result } of withKey) row(label, plain, result.rps.toFixed(2), result.cpu.toFixed(2), result.errors, result.rounds.map((r) => r.toFixed(2)).join(" "));
lines.push("", "## Keyward scenarios", "");
row("scenario", "req/s", "p50 ms", "p99 ms", "errors");
row("---", "---:", "---:", "---:", "---:");
for (const c of CONNECTIONS) {
  const r = millionRuns[c]!;
  row(`GET /data among 1,000,000 tokens (c=${c})`, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), r.errors);
}
for (const [name, r] of Object.entries(scenarios)) row(name, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), r.errors);
lines.push("", `Cold start, binary launch to first 200 from /health on a new database: ${cold.toFixed(1)} ms (median of 5).`, "");

const targets: [string, boolean, string][] = [];
for (const c of CONNECTIONS) {
  for (const [name, what] of [["keyward", "GET /data"], ["forward", "/auth/forward"]] as const) {
    targets.push([`${what} ≥ 0.9× the floor, paired (c=${c})`, pairs[name]![c]!.rps >= 0.9, `${pairs[name]![c]!.rps.toFixed(2)}×`]);
    targets.push([`${what} ≥ 2× Fastify + bearer-auth (c=${c})`, ratio(name, "fastify", c) >= 2, `${ratio(name, "fastify", c).toFixed(2)}×`]);
  }
  targets.push([`device short-token check ≥ 0.8× the floor, paired (c=${c})`, pairs.short![c]!.rps >= 0.8, `${pairs.short![c]!.rps.toFixed(2)}×`]);
  targets.push([`1,000,000 tokens within 10% of 1,000 (c=${c})`, millionRuns[c]!.rps >= 0.9 * m("keyward", c).rps, `${((millionRuns[c]!.rps / m("keyward", c).rps) * 100).toFixed(0)}%`]);
}
for (const [name, what] of [["keyward", "GET /data"], ["forward", "/auth/forward"]] as const) {
  const p99 = p99Of(name, 256) / p99Of("floor", 256);
  targets.push([`${what} p99 within 1.2× the floor's at 256 connections`, p99 <= 1.2, `${p99Of(name, 256).toFixed(2)} ms (${p99.toFixed(2)}×)`]);
}
if (onPostgres !== null) {
  for (const c of CONNECTIONS) targets.push([`GET /data on PostgreSQL within 10% of SQLite, paired (c=${c})`, onPostgres[c]!.rps >= 0.9, `${onPostgres[c]!.rps.toFixed(2)}×`]);
}
for (const c of CONNECTIONS) targets.push([`GET /data with a rate-limited token within 10% of an unlimited one, paired (c=${c})`, rateLimited[c]!.rps >= 0.9, `${rateLimited[c]!.rps.toFixed(2)}×`]);
targets.push(["cold start under 100 ms", cold < 100, `${cold.toFixed(1)} ms`]);
const rssPeak = Math.max(...CONNECTIONS.map((c) => m("keyward", c).rssMb));
targets.push(["RSS under 100 MB under load", rssPeak < 100, `${rssPeak.toFixed(0)} MB`]);
lines.push("## Targets", "");
const framework = (c: number) => pairs.elysia![c]!.rps.toFixed(2);
lines.push(`Elysia alone, doing the floor's check, answers ${framework(64)}× / ${framework(256)}× the floor (paired, 64 / 256 connections): what is left below that is Keyward's own work per request (the request envelope, the auth core's lockout, limits and usage counts, metrics).`, "");
lines.push(
  `/auth/forward does more than the floor's GET /data does (it reads its URL for \`?role=\` and \`?scope=\`, and answers with three identity headers and a longer body): against the floor answering as /auth/forward does, it is ${ownFloor[64]!.rps.toFixed(2)}× / ${ownFloor[256]!.rps.toFixed(2)}× (paired, 64 / 256 connections). The targets below hold it to the GET /data floor, as the issue asks. Elysia alone, answering as the floor's /auth/forward does and routing it as Keyward's, is ${forwardBound[64]!.rps.toFixed(2)}× / ${forwardBound[256]!.rps.toFixed(2)}× that floor: the nearest a forward-auth route that Elysia routes as it routes Keyward's can come, before any of Keyward's own work.`,
  "",
);
row("target", "measured", "met?");
row("---", "---:", "---");
for (const [name, met, value] of targets) row(name, value, met ? "yes" : "**no**");
lines.push("", "## Where Keyward's CPU goes", "");
lines.push(`\`bun --cpu-prof\` on the compiled binary under GET /data at 64 connections: the functions that ran most often themselves (share of all samples, idle included).`, "");
lines.push(...profileTable(hot), "");
// Measured by hand and dated inside: the profile before issue 13's work, and where the gap goes.
for (const note of ["bench/profile-before.md", "bench/gap.md"]) {
  if (existsSync(join(root, note))) lines.push(readFileSync(join(root, note), "utf8").trimEnd(), "");
}
writeFileSync(join(root, "bench/RESULTS.md"), `${lines.join("\n")}\n`);
writeFileSync(
  join(root, "bench/chart.svg"),
  renderChart(CONNECTIONS.map((c) => ({ label: `${c} connections`, bars: [["Bun.serve", m("bun", c).rps], ["floor", m("floor", c).rps], ["Keyward", m("keyward", c).rps], ["Fastify", m("fastify", c).rps]] }))),
);
console.log(lines.join("\n"));
