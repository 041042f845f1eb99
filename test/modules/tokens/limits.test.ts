import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client, formPost } from "../../helpers/api";
import { eq } from "drizzle-orm";
import { tablesOf } from "../../../src/db/client";
import { inProcessApp } from "../../helpers/app";
import { changesSettled } from "../../helpers/engine";
import { scenarios } from "../../helpers/scenario";
import { presented } from "../../../src/http/auth";
import { quotaAt } from "../../../src/modules/tokens/limits";
import { RateLimiter } from "../../../src/modules/tokens/rate-limit";

// Rate limits (in memory, per token id) and quotas (spent in the database before answering),
// in-process with the injected clock: windows and refills are reached by advancing it.
type Server = Awaited<ReturnType<typeof inProcessApp>>;
const start = () => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });

async function createToken(server: Server, body: Record<string, unknown>) {
  const res = await client(server).post("/api/v1/tokens", { user: "alice", ...body });
  expect(res.status).toBe(201);
  return res.body as { token: string; id: string; created_at: string } & Record<string, unknown>;
}

const use = (server: Server, token: string, path = "/data") => server.fetch(path, { headers: { authorization: `Bearer ${token}` } });
const statuses = (answers: Response[]) => answers.map((answer) => answer.status).sort();
const count = (list: number[], status: number) => list.filter((s) => s === status).length;
const record = async (server: Server, id: string) => (await client(server).get(`/api/v1/tokens/${id}`)).body;
const auditOf = async (server: Server, action: string) => {
  await server.flush();
  return (await client(server).get(`/api/v1/audit?action=${action}`)).body as { token_id: string; detail: string; count: number }[];
};

describe("creating a token with limits", () => {
  scenarios(
    (
      [
        ["a refill without remaining_uses", { refill: { uses: 5, every: "1d" } }, 422, "invalid_limit"],
        ["a window under a second", { rate_limit: { requests: 5, per: "0s" } }, 422, "invalid_duration"],
        ["a window over a day", { rate_limit: { requests: 5, per: "2d" } }, 422, "invalid_duration"],
        ["a window that is no duration", { rate_limit: { requests: 5, per: "soon" } }, 422, "invalid_duration"],
        ["zero requests", { rate_limit: { requests: 0, per: "1m" } }, 422, "validation_failed"],
        ["a fractional request count", { rate_limit: { requests: 1.5, per: "1m" } }, 422, "validation_failed"],
        ["requests as text", { rate_limit: { requests: "5", per: "1m" } }, 422, "validation_failed"],
        ["negative uses", { remaining_uses: -1 }, 422, "validation_failed"],
        ["uses past a billion", { remaining_uses: 1_000_000_001 }, 422, "validation_failed"],
        ["a refill period under a minute", { remaining_uses: 5, refill: { uses: 5, every: "30s" } }, 422, "invalid_duration"],
        ["a refill period over 366 days", { remaining_uses: 5, refill: { uses: 5, every: "367d" } }, 422, "invalid_duration"],
        ["a refill of no uses", { remaining_uses: 5, refill: { uses: 0, every: "1d" } }, 422, "validation_failed"],
        ["a rate limit without its window", { rate_limit: { requests: 5 } }, 422, "validation_failed"],
      ] as const
    ).map(([name, limits, status, code]) => ({
      name: `${name}: ${status} ${code}`,
      method: "POST" as const,
      url: "/api/v1/tokens",
      body: { user: "alice", ...limits },
      status,
      contains: [`"code":"${code}"`],
    })),
  );

  test("the record shows them, with durations in the API's words and the first refill one period after creation", async () => {
    const server = await start();
    const made = await createToken(server, { rate_limit: { requests: 100, per: "60s" }, remaining_uses: 0, refill: { uses: 1000, every: "7d" } });
    expect(made).toMatchObject({ rate_limit: { requests: 100, per: "1m" }, remaining_uses: 0, refill: { uses: 1000, every: "1w", next_at: new Date(Date.parse(made.created_at) + 7 * 86_400_000).toISOString() } });
    const plain = await createToken(server, {});
    expect(plain).toMatchObject({ rate_limit: null, remaining_uses: null, refill: null });
    const listed = (await client(server).get("/api/v1/tokens?user=alice")).body as { id: string; remaining_uses: number | null }[];
    expect(listed.map((r) => [r.id, r.remaining_uses])).toEqual([
      [plain.id, null],
      [made.id, 0],
    ]);
    // A record's own "none" sent back is none.
    expect(await createToken(server, { rate_limit: null, remaining_uses: null, refill: null })).toMatchObject({ rate_limit: null, remaining_uses: null, refill: null });
  });
});

describe("a rate limit", () => {
  test("window boundaries: N pass, then 429 with Retry-After and the RateLimit headers counting down; at the window's end it opens again", async () => {
    const server = await start();
    const { token, id } = await createToken(server, { rate_limit: { requests: 3, per: "10s" } });
    for (let i = 0; i < 3; i++) expect((await use(server, token)).status).toBe(200);
    const refused = await use(server, token);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: "rate_limited" });
    expect(Object.fromEntries(["retry-after", "ratelimit-policy", "ratelimit"].map((h) => [h, refused.headers.get(h)]))).toEqual({
      "retry-after": "10",
      "ratelimit-policy": '"default";q=3;w=10',
      ratelimit: '"default";r=0;t=10',
    });
    server.clock.advance(4_000);
    const later = await use(server, token);
    expect([later.status, later.headers.get("retry-after"), later.headers.get("ratelimit")]).toEqual([429, "6", '"default";r=0;t=6']);
    // The injected clock runs on with real time: boundaries to the millisecond are the unit tests' below.
    server.clock.advance(5_900);
    expect((await use(server, token)).headers.get("retry-after")).toBe("1");
    server.clock.advance(100);
    // The window opened by the first request has ended: a new one opens with this request.
    for (let i = 0; i < 3; i++) expect((await use(server, token)).status).toBe(200);
    expect((await use(server, token)).status).toBe(429);
    // A successful answer carries no rate-limit headers (see the README).
    server.clock.advance(10_000);
    expect((await use(server, token)).headers.get("ratelimit")).toBeNull();
    const metrics = server.metrics.render([]);
    expect(metrics).toContain('keyward_authentications_total{outcome="failure",reason="rate_limited"} 4');
    // Audited once per window that refused, not per refusal (alike failures within a clock minute share a row, with a count).
    const audited = (await auditOf(server, "auth.failed")).filter((row) => row.token_id === id);
    expect(new Set(audited.map((row) => row.detail))).toEqual(new Set(["token rate_limited"]));
    expect(audited.reduce((sum, row) => sum + row.count, 0)).toBe(2);
  });

  test("a token's record shows its current window as this instance counts it, and none once it ended", async () => {
    const server = await start();
    const { token, id } = await createToken(server, { rate_limit: { requests: 3, per: "1m" } });
    expect((await record(server, id)).rate_limit_window).toBeNull();
    const opened = server.clock.now();
    const answers = await Promise.all(Array.from({ length: 5 }, () => use(server, token)));
    expect(statuses(answers)).toEqual([200, 200, 200, 429, 429]);
    const { rate_limit_window: window } = await record(server, id);
    expect([window.used, window.refused, Date.parse(window.ends_at) - opened]).toEqual([3, 2, expect.any(Number)]);
    expect(Math.abs(Date.parse(window.ends_at) - opened - 60_000)).toBeLessThan(1_000);
    server.clock.advance(60_001);
    expect((await record(server, id)).rate_limit_window).toBeNull();
    const unlimited = await createToken(server, {});
    expect((await record(server, unlimited.id)).rate_limit_window).toBeUndefined();
  });

  test("refusals do not lock the address out, and a refused request spends no use", async () => {
    const server = await start();
    const { token, id } = await createToken(server, { rate_limit: { requests: 2, per: "1m" }, remaining_uses: 10 });
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push((await use(server, token)).status);
    expect([count(answers, 200), count(answers, 429)]).toEqual([2, 38]);
    expect((await record(server, id)).remaining_uses).toBe(8);
    const other = await createToken(server, {});
    expect((await use(server, other.token)).status).toBe(200);
    // A wrong token from this address is still a 401, not a lockout's 429.
    expect((await use(server, "kw_not-a-real-token")).status).toBe(401);
  });

  test("N + 10 requests at once: exactly N pass", async () => {
    const server = await start();
    const { token } = await createToken(server, { rate_limit: { requests: 25, per: "1h" } });
    const answers = statuses(await Promise.all(Array.from({ length: 35 }, () => use(server, token))));
    expect([count(answers, 200), count(answers, 429)]).toEqual([25, 10]);
  });

  test("is per token: another token of the same user has its own window", async () => {
    const server = await start();
    const first = await createToken(server, { rate_limit: { requests: 1, per: "1m" } });
    const second = await createToken(server, { rate_limit: { requests: 1, per: "1m" } });
    expect([(await use(server, first.token)).status, (await use(server, first.token)).status, (await use(server, second.token)).status]).toEqual([200, 429, 200]);
  });

  test("a proxy hears 429 as 401 (nginx turns a 429 into a 500), with the same code and headers", async () => {
    const server = await start();
    const { token } = await createToken(server, { rate_limit: { requests: 1, per: "30s" } });
    expect((await use(server, token, "/auth/forward")).status).toBe(200);
    const refused = await use(server, token, "/auth/request");
    expect([refused.status, refused.headers.get("retry-after"), refused.headers.get("ratelimit-policy")]).toEqual([401, "30", '"default";q=1;w=30']);
    expect(await refused.json()).toMatchObject({ code: "rate_limited" });
  });
});

describe("the rate limiter's memory", () => {
  test("holds entries only while their windows run, and never more than its capacity", () => {
    const limiter = new RateLimiter(10);
    const limit = { requests: 1, perMs: 1_000 };
    for (let i = 0; i < 100; i++) limiter.take(`tok_${i}`, limit, 0);
    expect(limiter.size).toBeLessThanOrEqual(10);
    // Each window opened later drops up to two that are over.
    for (let i = 0; i < 10; i++) limiter.take(`tok_late_${i}`, { requests: 1, perMs: 60_000 }, 5_000);
    expect(limiter.size).toBe(10);
    for (let i = 0; i < 3; i++) limiter.take(`tok_again_${i}`, limit, 70_000);
    expect(limiter.size).toBeLessThanOrEqual(7);
  });

  test("a clock set back never refuses for longer than one window", () => {
    const limiter = new RateLimiter();
    const limit = { requests: 1, perMs: 10_000 };
    limiter.take("tok_a", limit, 1_000_000);
    // Set back by 100 s: the window opened "in the future" is over, a new one opens now.
    expect(limiter.take("tok_a", limit, 900_000)).toBe(0);
    expect(limiter.take("tok_a", limit, 900_000)).toBe(10_000);
    // Retry-After is honest: once it has passed, the token is let through again.
    expect(limiter.take("tok_a", limit, 910_000)).toBe(0);
  });
});

/** A token's quota as stored, read through the store's own tables (either engine). */
async function quotaState(server: Awaited<ReturnType<typeof inProcessApp>>, id: string) {
  const { tokens } = tablesOf(server.store.db);
  const [row] = await server.store.db.select({ remaining: tokens.remainingUses, refilledAt: tokens.refilledAt }).from(tokens).where(eq(tokens.id, id));
  return { remaining_uses: row!.remaining, refilled_at: row!.refilledAt?.getTime() ?? null };
}

describe("a quota", () => {
  test("each use spends one; at zero 429 quota_exhausted with Retry-After to the refill, due exactly at the boundary", async () => {
    const server = await start();
    const { token, id, created_at } = await createToken(server, { remaining_uses: 2, refill: { uses: 3, every: "1h" } });
    const due = Date.parse(created_at) + 3_600_000;
    expect(statuses([await use(server, token), await use(server, token)])).toEqual([200, 200]);
    server.clock.advance(due - 900 - server.clock.now());
    const refused = await use(server, token);
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([429, "1"]);
    expect(await refused.json()).toMatchObject({ code: "quota_exhausted" });
    expect(refused.headers.get("ratelimit")).toBeNull();
    server.clock.advance(900);
    // Due: the uses are set back to the refill's (not added to): 3, then none until the next hour.
    for (let i = 0; i < 3; i++) expect((await use(server, token)).status).toBe(200);
    const again = await use(server, token);
    expect([again.status, Number(again.headers.get("retry-after"))]).toEqual([429, expect.any(Number)]);
    expect(Number(again.headers.get("retry-after"))).toBeWithin(3595, 3601);
    expect(await quotaState(server, id)).toEqual({ remaining_uses: 0, refilled_at: due });
    // Refills keep their schedule: three periods late, one refill, counted from the last due time.
    server.clock.advance(3 * 3_600_000 + 5_000);
    expect((await use(server, token)).status).toBe(200);
    expect(await quotaState(server, id)).toEqual({ remaining_uses: 2, refilled_at: due + 3 * 3_600_000 });
  });

  test("a refill is due exactly at its boundary, and the rate limit's window ends exactly at its end", () => {
    const row = { remainingUses: 0, refillUses: 5, refillEveryMs: 60_000, refilledAt: new Date(1_000_000) };
    expect(quotaAt(row, 1_059_999)).toEqual({ remaining: 0, refilledAt: 1_000_000, nextRefillAt: 1_060_000 });
    expect(quotaAt(row, 1_060_000)).toEqual({ remaining: 5, refilledAt: 1_060_000, nextRefillAt: 1_120_000 });
    expect(quotaAt(row, 1_179_999)).toEqual({ remaining: 5, refilledAt: 1_120_000, nextRefillAt: 1_180_000 });
    const limiter = new RateLimiter();
    const limit = { requests: 1, perMs: 10_000 };
    expect(limiter.take("tok_a", limit, 5_000)).toBe(0);
    expect(limiter.take("tok_a", limit, 14_999)).toBe(1);
    expect(limiter.take("tok_a", limit, 15_000)).toBe(0);
  });

  test("without a refill: 429 with no Retry-After, for good; the audit log notes the last use once", async () => {
    const server = await start();
    const { token, id } = await createToken(server, { remaining_uses: 1, expires_in: "never" });
    expect((await use(server, token)).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const refused = await use(server, token);
      expect([refused.status, refused.headers.get("retry-after")]).toEqual([429, null]);
    }
    const exhausted = await auditOf(server, "token.quota_exhausted");
    expect(exhausted.map((row) => [row.token_id, row.detail])).toEqual([[id, "no uses left, no refill"]]);
    server.clock.advance(400 * 86_400_000);
    expect((await use(server, token)).status).toBe(429);
    expect(server.metrics.render([])).toContain('keyward_authentications_total{outcome="failure",reason="quota_exhausted"} 6');
    expect(await auditOf(server, "auth.failed")).toEqual([]);
  });

  test("20 requests at once with 5 uses left: exactly 5 pass, on every hot route", async () => {
    for (const path of ["/data", "/auth/forward", "/api/v1/me"]) {
      const server = await start();
      const { token, id } = await createToken(server, { remaining_uses: 5 });
      const answers = statuses(await Promise.all(Array.from({ length: 20 }, () => use(server, token, path))));
      const refused = path === "/auth/forward" ? 401 : 429;
      expect([path, count(answers, 200), count(answers, refused)]).toEqual([path, 5, 15]);
      expect((await record(server, id)).remaining_uses).toBe(0);
    }
  });

  test("a spend empties no cache: the verifier keeps its entries, and the count shown is the database's", async () => {
    const server = await start();
    const { token, id } = await createToken(server, { remaining_uses: 50 });
    await use(server, token);
    // On PostgreSQL the token's creation is heard again (its NOTIFY) a moment later, later still on a busy machine.
    await changesSettled(server.store);
    const generation = server.store.changes.current();
    for (let i = 0; i < 10; i++) await use(server, token);
    expect(server.store.changes.current()).toBe(generation);
    expect((await record(server, id)).remaining_uses).toBe(39);
  });

  test("only a token with a quota waits for the database: others are decided at once", async () => {
    const server = await start();
    const decide = async (body: Record<string, unknown>) => {
      const { token } = await createToken(server, body);
      await changesSettled(server.store);
      const request = new Request("http://localhost/data", { headers: { authorization: `Bearer ${token}` } });
      // The first check reads the token (from PostgreSQL, a promise); the next is the cached one's.
      await server.core.token(presented(request, () => "127.0.0.1", token, "token"));
      return server.core.token(presented(request, () => "127.0.0.1", token, "token")) instanceof Promise;
    };
    expect([await decide({}), await decide({ rate_limit: { requests: 1000, per: "1s" } }), await decide({ remaining_uses: 10 })]).toEqual([false, false, true]);
  });
});

describe("rotation", () => {
  test("keeps the limits and the uses left; the old token's grace spends the successor's, and its rate window starts afresh", async () => {
    const server = await start();
    const old = await createToken(server, { rate_limit: { requests: 2, per: "1m" }, remaining_uses: 5, refill: { uses: 5, every: "1d" } });
    expect((await use(server, old.token)).status).toBe(200);
    expect((await use(server, old.token)).status).toBe(200);
    expect((await use(server, old.token)).status).toBe(429);
    const rotated = await client(server).post(`/api/v1/tokens/${old.id}/rotate`, { grace: "1h" });
    expect(rotated.status).toBe(201);
    const next = rotated.body as { token: string; id: string } & Record<string, unknown>;
    expect(next).toMatchObject({ rate_limit: { requests: 2, per: "1m" }, remaining_uses: 3, refill: { uses: 5, every: "1d", next_at: (old.refill as { next_at: string }).next_at } });
    expect((await use(server, next.token)).status).toBe(200);
    server.clock.advance(60_000);
    expect((await use(server, old.token)).status).toBe(200);
    expect((await record(server, next.id)).remaining_uses).toBe(1);
    expect((await use(server, next.token)).status).toBe(200);
    const spent = await use(server, old.token);
    expect([spent.status, (await spent.json()).code]).toEqual([429, "quota_exhausted"]);
  });
});

describe("introspection", () => {
  test("shows the uses left without spending one; a token with none left is not active", async () => {
    const server = await start();
    const rs = await createToken(server, { user: "nas", role: "resource-server" });
    const { token, id } = await createToken(server, { remaining_uses: 2 });
    const plain = await createToken(server, { rate_limit: { requests: 1, per: "1s" } });
    const introspect = async (subject: string) => (await server.fetch("/oauth/introspect", formPost({ token: subject }, { authorization: `Bearer ${rs.token}` }))).json();
    expect(await introspect(token)).toMatchObject({ active: true, client_id: id, remaining_uses: 2 });
    expect(await introspect(token)).toMatchObject({ remaining_uses: 2 });
    expect(await introspect(plain.token)).not.toHaveProperty("remaining_uses");
    await use(server, token);
    await use(server, token);
    expect(await introspect(token)).toEqual({ active: false });
  });
});

describe("an introspecting client with limits", () => {
  test("is told 429 temporarily_unavailable when its own token's rate or uses run out, never invalid_client", async () => {
    const server = await start();
    const subject = await createToken(server, {});
    const ask = async (rs: { token: string }) => {
      const res = await server.fetch("/oauth/introspect", formPost({ token: subject.token }, { authorization: `Bearer ${rs.token}` }));
      return [res.status, ((await res.json()) as { error?: string }).error ?? "ok", res.headers.get("retry-after")];
    };
    const metered = await createToken(server, { user: "nas", role: "resource-server", remaining_uses: 1 });
    expect([await ask(metered), await ask(metered)]).toEqual([[200, "ok", null], [429, "temporarily_unavailable", null]]);
    const limited = await createToken(server, { user: "nas", role: "resource-server", rate_limit: { requests: 1, per: "1m" } });
    expect([await ask(limited), await ask(limited)]).toEqual([[200, "ok", null], [429, "temporarily_unavailable", "60"]]);
  });
});
