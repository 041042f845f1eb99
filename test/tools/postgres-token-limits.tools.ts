import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { hasPostgres, throwawayCluster, twoInstances } from "../helpers/postgres";
import { serverPool, type RunningServer } from "../helpers/server";

// Quotas and rate limits with two compiled instances on one PostgreSQL: a quota is one count in
// the database, spent under the write lock every instance takes; a rate limit is each instance's own.
setDefaultTimeout(60_000);

const env = { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "limits-secret-key-0123456789abcdef" };
const start = serverPool({ env });

const cluster = throwawayCluster();

const pair = () => twoInstances(start, cluster.pg);

async function issue(server: RunningServer, limits: Record<string, unknown>): Promise<{ token: string; id: string }> {
  const res = await client(server).post("/api/v1/tokens", { user: "ann", ...limits });
  expect(res.status).toBe(201);
  return res.body;
}

const data = (server: RunningServer, token: string) => server.fetch("/data", { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
const tally = (statuses: number[]) => [200, 429].map((status) => statuses.filter((s) => s === status).length);

describe.skipIf(!hasPostgres)("limits on instances sharing one PostgreSQL", () => {
  test("20 requests at once split over A and B with 5 uses left: exactly 5 pass", async () => {
    const { a, b } = await pair();
    const { token, id } = await issue(a, { remaining_uses: 5 });
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => data(i % 2 === 0 ? a : b, token)));
    expect(tally(statuses)).toEqual([5, 15]);
    expect((await client(b).get(`/api/v1/tokens/${id}`)).body.remaining_uses).toBe(0);
    // Spent out on B's side too: both refuse, and the last use was audited once.
    expect([await data(a, token), await data(b, token)]).toEqual([429, 429]);
    const audited = (await client(a).get("/api/v1/audit?action=token.quota_exhausted")).body as { token_id: string }[];
    expect(audited.map((row) => row.token_id)).toEqual([id]);
  });

  test("spends alternating over A and B are counted once each, exactly", async () => {
    const { a, b } = await pair();
    const { token, id } = await issue(a, { remaining_uses: 100 });
    for (let i = 0; i < 30; i++) expect(await data(i % 3 === 0 ? b : a, token)).toBe(200);
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => data(i % 2 === 0 ? a : b, token)));
    expect(tally(burst)).toEqual([40, 0]);
    expect((await client(a).get(`/api/v1/tokens/${id}`)).body.remaining_uses).toBe(30);
  });

  test("a rate limit is per instance: N on A and N more on B", async () => {
    const { a, b } = await pair();
    const { token } = await issue(a, { rate_limit: { requests: 4, per: "1h" } });
    const onA = await Promise.all(Array.from({ length: 10 }, () => data(a, token)));
    const onB = await Promise.all(Array.from({ length: 10 }, () => data(b, token)));
    expect([tally(onA), tally(onB)]).toEqual([
      [4, 6],
      [4, 6],
    ]);
  });
});
