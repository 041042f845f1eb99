import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { hasPostgres, throwawayCluster, twoInstances } from "../helpers/postgres";
import { serverPool, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

// Usage over time with two compiled instances on one PostgreSQL: each writes its own counts into
// the same buckets, which add up (issue 19: "summed across instances").
setDefaultTimeout(60_000);

const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "usage-secret-key-0123456789abcdef" } });
const cluster = throwawayCluster();

const data = (server: RunningServer, token: string) => server.fetch("/data", { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
const total = (points: { successes: number; failures?: Record<string, number> }[], of: (point: (typeof points)[number]) => number) => points.reduce((sum, point) => sum + of(point), 0);

describe.skipIf(!hasPostgres)("usage buckets on instances sharing one PostgreSQL", () => {
  test("a token's uses split over A and B, and refusals on both, are counted once each in every bucket length", async () => {
    const { a, b } = await twoInstances(start, cluster.pg);
    const { token, id } = (await client(a).post("/api/v1/tokens", { user: "ann" })).body;
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => data(i % 3 === 0 ? a : b, token)));
    expect(statuses.every((status) => status === 200)).toBe(true);
    for (const server of [a, b, a]) expect(await data(server, `${token.slice(0, -4)}AAAA`)).toBe(401);
    // Each instance writes its own counts every second (a read flushes only the reader's): both are read back from either.
    const counted = async (server: RunningServer, bucket: string) => total((await client(server).get(`/api/v1/usage?token_id=${id}&bucket=${bucket}`)).body.points, (p) => p.successes);
    await until(async () => (await counted(a, "1m")) === 30, "both instances' uses written", 5_000);
    for (const bucket of ["1m", "1h", "1d"]) for (const server of [a, b]) expect([bucket, await counted(server, bucket)]).toEqual([bucket, 30]);
    const refusals = async () => total((await client(b).get("/api/v1/usage?bucket=1h")).body.points, (p) => Object.values(p.failures ?? {}).reduce((sum, n) => sum + n, 0));
    await until(async () => (await refusals()) === 3, "both instances' refusals written", 5_000);
    expect(await refusals()).toBe(3);
  });
});
