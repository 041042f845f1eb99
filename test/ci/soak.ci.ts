// CI only (.ci/run runs it for two minutes): a developer's npm test leaves it out. `bun test ./test/ci/soak.ci.ts` runs it by hand.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { startKeyward, type RunningServer } from "../helpers/server";

/** How long to soak: 15 s when run by hand, two minutes in CI (.ci/run sets KEYWARD_SOAK_SECONDS). */
const SECONDS = Number(process.env.KEYWARD_SOAK_SECONDS ?? 15);
/** RSS may grow by at most this much after warm-up: more would mean something keeps memory per request. */
const RSS_GROWTH_LIMIT_MB = 40;

let server: RunningServer;
afterAll(() => server?.stop());

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

describe("soak", () => {
  test(`${SECONDS}s of mixed traffic: no errors, RSS stays within ${RSS_GROWTH_LIMIT_MB} MB of its warmed-up size`, async () => {
    server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_LOG: "warn", KEYWARD_MAX_FAILURES: "1000000" } });
    const admin = client(server);
    await admin.post("/api/v1/users", { username: "soak", password: "correct horse battery" });
    const device = (await admin.post("/api/v1/tokens/main", { hardware_fingerprint: "fp-soak" })).body;
    const steady = (await admin.post("/api/v1/tokens", { user: "steady" })).body.token as string;

    const deadline = Date.now() + SECONDS * 1000;
    // Warmed up after a quarter of the run, at most 30 s. In CI's two minutes RSS climbs for about
    // 15 s, then stays flat (medians of 10 s windows in one run: 170, 185, 182, 189, then 179–184 to
    // the end), with spikes of up to 20 MB (argon2id takes 64 MiB per login). A 5 s warm-up counted
    // part of the climb as growth: once 169 → 211 MB in CI, where runs here went 183 → 203, 167 → 201
    // and 170 → 202 MB.
    const warmUntil = Date.now() + Math.min(30_000, SECONDS * 250);
    const unexpected: string[] = [];
    const counts = { verify: 0, create: 0, revoke: 0, login: 0, device: 0 };
    const check = (what: keyof typeof counts, status: number, ok: number) => {
      counts[what]++;
      if (status !== ok) unexpected.push(`${what} → ${status}`);
    };
    const loop = async (step: () => Promise<void>) => {
      while (Date.now() < deadline && unexpected.length < 20) await step();
    };
    const samples: { at: number; mb: number }[] = [];
    const sampler = setInterval(() => samples.push({ at: Date.now(), mb: rssMb(server.proc.pid) }), 250);

    await Promise.all([
      ...Array.from({ length: 4 }, () => loop(async () => check("verify", (await client(server, steady).get("/data")).status, 200))),
      loop(async () => {
        const created = await admin.post("/api/v1/tokens", { user: "churn", expires_in: "1h" });
        check("create", created.status, 201);
        check("revoke", (await admin.delete(`/api/v1/tokens/${created.body.id}`)).status, 200);
      }),
      loop(async () => {
        const res = await server.fetch(`/api/v1/tokens/verify?short_token=${device.short_token}&hardware_fingerprint=fp-soak`);
        await res.arrayBuffer();
        check("device", res.status, 200);
      }),
      loop(async () => {
        const res = await server.fetch("/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "soak", password: "correct horse battery" }) });
        await res.arrayBuffer();
        check("login", res.status, 200);
      }),
    ]);
    clearInterval(sampler);

    expect(unexpected).toEqual([]);
    expect(counts.verify).toBeGreaterThan(SECONDS * 100);
    expect(counts.login).toBeGreaterThan(SECONDS);
    const warmed = samples.filter((s) => s.at >= warmUntil);
    const baseline = Math.max(...samples.filter((s) => s.at < warmUntil).map((s) => s.mb));
    const peak = Math.max(...warmed.map((s) => s.mb));
    console.log(`soak: ${JSON.stringify(counts)}, RSS warmed ${baseline.toFixed(1)} MB, peak after ${peak.toFixed(1)} MB`);
    expect(peak - baseline).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    expect((await server.fetch("/health")).status).toBe(200);
  }, (SECONDS + 30) * 1000);
});
