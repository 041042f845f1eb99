import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { runKeyward, tempDir } from "../helpers/binary";
import { createDatabase, hasPostgres, throwawayCluster, twoInstances } from "../helpers/postgres";
import { serverPool, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";
import { FINAL_FLUSH_MS } from "../../src/flush-ticker";

// Issue 16: instances on one PostgreSQL through a kill -9 of an instance and restarts of PostgreSQL.
setDefaultTimeout(60_000);

const SECRET_KEY = "reliability-secret-key-0123456789abcdef";
// The load presents revoked tokens thousands of times from one address: no lockout, so that every
// refusal is the token's own (401), and the admin token still works from that address.
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY, KEYWARD_MAX_FAILURES: "1000000" } });
/** How long PostgreSQL stays down in each round, and how long a good token may still get 503 once it is back. */
const OUTAGE_MS = 1500;
const RECOVERY_MS = 2000;
/**
 * A revocation reaches the other instances by NOTIFY (milliseconds), or else by the 250 ms poll:
 * never at the very moment the revoking command returns, so a request sent just then may still pass.
 */
const PROPAGATION_MS = 500;

const cluster = throwawayCluster();

const pair = () => twoInstances(start, cluster.pg);

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });

async function issue(server: RunningServer, user = "ann"): Promise<{ token: string; id: string }> {
  const res = await client(server).post("/api/v1/tokens", { user });
  expect(res.status).toBe(201);
  return res.body;
}

/** Every token id on `server`'s list, page by page. */
async function listedIds(server: RunningServer): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let cursor = "", pages = 0; pages < 20; pages++) {
    const res = await client(server).get(`/api/v1/tokens?limit=500${cursor && `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(res.status).toBe(200);
    for (const row of res.body as { id: string }[]) ids.add(row.id);
    cursor = res.headers.get("x-next-cursor") ?? "";
    if (!cursor) break;
  }
  return ids;
}

const since = (from: number) => Math.round(performance.now() - from);

interface Answer {
  who: string;
  token: string;
  sentAt: number;
  doneAt: number;
  status: number;
}

/**
 * Steady traffic: on each server, `loops` clients cycling through the tokens on GET /data, and one
 * polling /health every 100 ms, each answer recorded with when it was sent and received.
 */
function traffic(servers: Record<string, RunningServer>, tokens: Record<string, string>, loops = 2) {
  const data: Answer[] = [];
  const health: Answer[] = [];
  const busy: { body: unknown; retryAfter: string | null }[] = [];
  let running = true;
  const call = async (who: string, token: string, send: () => Promise<Response>, into: Answer[]) => {
    const sentAt = performance.now();
    const res = await send().catch(() => null);
    if (res?.status === 503 && into === data && busy.length < 1) busy.push({ body: await res.clone().json(), retryAfter: res.headers.get("retry-after") });
    await res?.arrayBuffer().catch(() => undefined);
    into.push({ who, token, sentAt, doneAt: performance.now(), status: res?.status ?? 0 });
  };
  const clients = Object.entries(servers).flatMap(([who, server]) => [
    ...Array.from({ length: loops }, async () => {
      while (running) {
        for (const [name, token] of Object.entries(tokens)) await call(who, name, () => server.fetch("/data", bearer(token)), data);
        await Bun.sleep(10);
      }
    }),
    (async () => {
      while (running) {
        await call(who, "health", () => server.fetch("/health", { signal: AbortSignal.timeout(10_000) }), health);
        await Bun.sleep(100);
      }
    })(),
  ]);
  return {
    data,
    health,
    busy,
    async stop() {
      running = false;
      await Promise.all(clients);
    },
  };
}

/** Runs `keyward token revoke id` until it succeeds; its attempts and when it returned. */
async function revokeThroughCli(db: string, id: string): Promise<{ attempts: number; returnedAt: number }> {
  for (let attempts = 1; attempts <= 60; attempts++) {
    const run = await runKeyward(["token", "revoke", id], { cwd: tempDir(), env: { KEYWARD_DB: db, SECRET_KEY } });
    if (run.code === 0) return { attempts, returnedAt: performance.now() };
    await Bun.sleep(100);
  }
  throw new Error(`token revoke ${id} never succeeded`);
}

interface Round {
  kind: "fastStop" | "crash";
  stopBegin: number;
  stopped: number;
  restartBegin: number;
  up: number;
  revoked: { attempts: number; returnedAt: number };
}

/** Stops PostgreSQL, revokes `lateId` through the CLI while it is down (retrying), starts it again. */
async function outage(kind: Round["kind"], db: string, lateId: string): Promise<Round> {
  const stopBegin = performance.now();
  await cluster.pg[kind]();
  const stopped = performance.now();
  const revoking = revokeThroughCli(db, lateId);
  await Bun.sleep(OUTAGE_MS);
  const restartBegin = performance.now();
  await cluster.pg.restart();
  const up = performance.now();
  const revoked = await revoking;
  await Bun.sleep(RECOVERY_MS + 1000);
  return { kind, stopBegin, stopped, restartBegin, up, revoked };
}

describe.skipIf(!hasPostgres)("PostgreSQL cluster under crashes and outages", () => {
  test("kill -9 of A while it creates tokens loses nothing A acknowledged", async () => {
    const { a, b } = await pair();
    const acknowledged: { token: string; id: string }[] = [];
    let failed = 0;
    const creators = Array.from({ length: 3 }, async (_, n) => {
      for (let i = 0; i < 200; i++) {
        const res = await a.fetch("/api/v1/tokens", {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ user: `user-${n}-${i}` }),
        }).catch(() => null);
        const body = res?.status === 201 ? await res.json().catch(() => null) : null;
        if (!body) return void failed++;
        acknowledged.push(body);
      }
    });
    await until(() => acknowledged.length >= 50, "50 tokens acknowledged by A", 20_000);
    a.proc.kill("SIGKILL");
    await Promise.all(creators);
    expect(await a.proc.exited).not.toBe(0);
    expect(failed).toBe(3);

    const statuses = await Promise.all(acknowledged.map(({ token }) => b.fetch("/data", bearer(token)).then((r) => r.status)));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const listed = await listedIds(b);
    expect(acknowledged.filter(({ id }) => !listed.has(id))).toEqual([]);
    console.log(`kill -9: ${acknowledged.length} tokens acknowledged by A before it died, all verify and are listed on B`);
  });

  test("PostgreSQL stopped (fast, then immediate) under load: nothing revoked accepted, good tokens only 200 or 503, back within 2 s", async () => {
    const { db, a, b } = await pair();
    const good = await issue(a, "good");
    const revoked = await issue(a, "revoked");
    const late1 = await issue(b, "late-1");
    const late2 = await issue(b, "late-2");
    expect((await client(b).delete(`/api/v1/tokens/${revoked.id}`)).status).toBe(200);
    const load = traffic({ A: a, B: b }, { good: good.token, revoked: revoked.token, late1: late1.token, late2: late2.token });
    const begun = performance.now();
    await Bun.sleep(1000);
    const rounds = [await outage("fastStop", db, late1.id), await outage("crash", db, late2.id)];
    await load.stop();

    expect(a.proc.exitCode).toBeNull();
    expect(b.proc.exitCode).toBeNull();
    const during = (sentAt: number, doneAt: number) => rounds.find((r) => doneAt >= r.stopBegin && sentAt <= r.up + RECOVERY_MS);
    expect(load.data.filter((x) => x.token === "revoked" && x.status < 300)).toEqual([]);
    const revokedAt: Record<string, number> = { late1: rounds[0]!.revoked.returnedAt, late2: rounds[1]!.revoked.returnedAt };
    const lag = (x: Answer) => x.sentAt - revokedAt[x.token]!;
    const lateAccepts = load.data.filter((x) => x.token in revokedAt && lag(x) > 0 && x.status < 300);
    expect(lateAccepts.filter((x) => lag(x) > PROPAGATION_MS)).toEqual([]);
    // Refused or 503, never a 500 or a dropped connection.
    expect(load.data.filter((x) => x.token !== "good" && ![200, 401, 503].includes(x.status))).toEqual([]);
    expect(load.data.filter((x) => x.token === "good" && x.status !== 200 && !(x.status === 503 && during(x.sentAt, x.doneAt)))).toEqual([]);
    expect(load.busy[0]).toMatchObject({ body: { code: "database_busy" }, retryAfter: "1" });

    for (const round of rounds) {
      const numbers: string[] = [];
      for (const who of ["A", "B"]) {
        const mine = load.data.filter((x) => x.who === who && x.token === "good");
        const back = mine.find((x) => x.sentAt >= round.up && x.status === 200);
        expect(back).toBeDefined();
        expect(back!.doneAt - round.up).toBeLessThan(RECOVERY_MS);
        const refused = mine.filter((x) => x.status === 503 && during(x.sentAt, x.doneAt) === round);
        const lastRefused = refused.at(-1);
        const health = load.health.filter((x) => x.who === who);
        expect(health.some((x) => x.sentAt >= round.stopped && x.doneAt <= round.restartBegin && x.status === 503)).toBe(true);
        const healthBack = health.find((x) => x.sentAt >= round.up && x.status === 200);
        expect(health.filter((x) => x.sentAt >= round.up + RECOVERY_MS && x.sentAt < round.up + RECOVERY_MS + 1000 && x.status !== 200)).toEqual([]);
        numbers.push(
          `${who}: good 503 ×${refused.length} of ${mine.filter((x) => during(x.sentAt, x.doneAt) === round).length}` +
            ` (first ${refused[0] ? Math.round(refused[0].doneAt - round.stopBegin) : "-"} ms after the stop began,` +
            ` last ${lastRefused ? Math.round(lastRefused.doneAt - round.up) : "-"} ms after up),` +
            ` 200 again ${Math.round(back!.doneAt - round.up)} ms after up, /health 200 ${healthBack ? Math.round(healthBack.doneAt - round.up) : "-"} ms after up`,
        );
      }
      console.log(
        `${round.kind}: stop took ${Math.round(round.stopped - round.stopBegin)} ms, down ${Math.round(round.up - round.stopped)} ms;` +
          ` CLI revoke took ${round.revoked.attempts} attempts, returned ${Math.round(round.revoked.returnedAt - round.up)} ms after up\n  ${numbers.join("\n  ")}`,
      );
    }

    // Uses counted in memory while PostgreSQL was down are written once it is back: the count adds up.
    const served = load.data.filter((x) => x.token === "good" && x.status === 200).length;
    const counted = async () => (await client(a).get(`/api/v1/tokens/${good.id}`)).body.request_count;
    await until(async () => (await counted()) >= served, `request_count to reach ${served}`, 5000).catch(() => undefined);
    expect(await counted()).toBe(served);
    // One line as each outage begins and one as it ends, not one a second.
    for (const server of [a, b]) {
      const flushLines = server.events().filter((e) => String(e.msg).includes("usage counts")).map((e) => e.msg);
      expect(flushLines).toEqual(Array(2).fill(["could not write usage counts and audit events; will retry", "usage counts and audit events written again"]).flat());
    }
    console.log(
      `${load.data.length} requests in ${since(begun)} ms; good token served ${served} times, counted ${served};` +
        ` late-revoked tokens accepted ${lateAccepts.length} times after the CLI returned (last sent ${Math.round(Math.max(0, ...lateAccepts.map(lag)))} ms after)`,
    );
  });

  test("a long outage logs a line when it begins and few after, a forged token is still 401, and SIGTERM stops in time", async () => {
    const db = await createDatabase(cluster.pg);
    const a = await start({ db });
    const { token } = await issue(a);
    await cluster.pg.crash();
    try {
      const from = a.logs().length;
      const begun = performance.now();
      // Refused on its checksum, with no query; its failure is audited, which the flush cannot write now.
      const forged = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
      expect((await a.fetch("/data", bearer(forged))).status).toBe(401);
      await Bun.sleep(6000);
      const printed = a.logs().slice(from).split("\n").filter((line) => line !== "" && !line.includes('"msg":"request"'));
      const flushFailures = printed.filter((line) => line.includes("usage counts"));
      const listenRetries = printed.filter((line) => line.startsWith("bun:sql LISTEN"));
      // Shared lockouts say so once when their rounds start failing (and once when they recover).
      const lockoutSharing = printed.filter((line) => line.includes("share lockouts"));
      expect(flushFailures.length).toBe(1);
      expect(listenRetries.length).toBeLessThanOrEqual(5);
      expect(lockoutSharing.length).toBeLessThanOrEqual(1);
      expect(printed.length, printed.join("\n")).toBe(flushFailures.length + listenRetries.length + lockoutSharing.length);

      const stopping = performance.now();
      expect(await a.stop("SIGTERM")).toBe(0);
      const took = since(stopping);
      // It waits up to FINAL_FLUSH_MS for the database (README), then closes: a second is plenty for that.
      expect(took).toBeLessThan(FINAL_FLUSH_MS + 1000);
      // What the stop could not write is lost, and says so.
      expect(a.events().map((e) => e.msg)).toContain("could not write usage counts and audit events before stopping");
      console.log(`outage of ${since(begun)} ms: ${printed.length} lines besides requests (${flushFailures.length} flush, ${listenRetries.length} LISTEN retries); SIGTERM stopped it in ${took} ms`);
    } finally {
      await cluster.pg.restart();
    }
  });
});
