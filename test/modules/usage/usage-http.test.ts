import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_TOKEN, client } from "../../helpers/api";
import { inProcessApp } from "../../helpers/app";
import { sqliteOnly } from "../../helpers/engine";

// GET /api/v1/usage and /api/v1/usage/top, in-process: the injected clock crosses minute and hour
// ends between requests, and counts are exact once the route has flushed them.
type Server = Awaited<ReturnType<typeof inProcessApp>>;
type Point = { start: string; successes: number; sources?: Record<string, number>; failures?: Record<string, number> };

const minute = 60_000;
const hour = 60 * minute;
const start = (env: Record<string, string> = {}, db?: string) => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env }, {}, { db });

async function createToken(server: Server, user = "alice", name?: string) {
  const res = await client(server).post("/api/v1/tokens", { user, name });
  expect(res.status).toBe(201);
  return res.body as { token: string; id: string };
}

const use = (server: Server, token: string, path = "/data") => server.fetch(path, { headers: { authorization: `Bearer ${token}` } });
/** Moves the clock to `before` ms ahead of the next multiple of `unit` (the next minute's or hour's start). */
const toEndOf = (server: Server, unit: number, before: number) => server.clock.advance(unit - (server.clock.now() % unit) - before);

async function usage(server: Server, query: string) {
  const res = await client(server).get(`/api/v1/usage?${query}`);
  expect(res.status).toBe(200);
  return res.body as { bucket: string; from: string; to: string; token_id?: string; points: Point[] };
}
const nonZero = (points: Point[]) => points.filter((point) => point.successes > 0 || Object.keys(point.failures ?? {}).length > 0);
const around = (server: Server, span: number) => `from=${new Date(server.clock.now() - span).toISOString()}&to=${new Date(server.clock.now() + 1).toISOString()}`;

describe("a token's uses over time", () => {
  test("N uses show as N in its 1m, 1h and 1d buckets, split exactly across a minute's and an hour's end", async () => {
    const server = await start();
    const { token, id } = await createToken(server);
    toEndOf(server, hour, 10_000);
    for (let i = 0; i < 3; i++) expect((await use(server, token)).status).toBe(200);
    server.clock.advance(20_000);
    for (let i = 0; i < 4; i++) expect((await use(server, token)).status).toBe(200);
    const range = around(server, 2 * hour);
    const minutes = nonZero((await usage(server, `token_id=${id}&bucket=1m&${range}`)).points);
    expect(minutes.map((point) => point.successes)).toEqual([3, 4]);
    expect(new Date(minutes[1]!.start).getTime() - new Date(minutes[0]!.start).getTime()).toBe(minute);
    expect(new Date(minutes[1]!.start).getTime() % hour).toBe(0);
    expect(nonZero((await usage(server, `token_id=${id}&bucket=1h&${range}`)).points).map((point) => point.successes)).toEqual([3, 4]);
    const days = nonZero((await usage(server, `token_id=${id}&bucket=1d`)).points);
    expect(days.map((point) => point.successes).reduce((a, b) => a + b)).toBe(7);
    // A token's points carry successes only: refusals are not attributed to tokens.
    expect(Object.keys(minutes[0]!)).toEqual(["start", "successes"]);
  });

  test("every bucket of the range is present, zeros included, from the one holding `from`", async () => {
    const server = await start();
    const { id } = await createToken(server);
    const at = Date.UTC(2026, 0, 5, 10, 30);
    const answer = await usage(server, `token_id=${id}&bucket=1h&from=${new Date(at).toISOString()}&to=${new Date(at + 3 * hour).toISOString()}`);
    expect(answer).toEqual({
      bucket: "1h",
      from: "2026-01-05T10:00:00.000Z",
      to: "2026-01-05T13:30:00.000Z",
      token_id: id,
      points: [10, 11, 12, 13].map((h) => ({ start: `2026-01-05T${h}:00:00.000Z`, successes: 0 })),
    });
  });

  test("by default, a day of hour buckets ending now, and 30 days of day buckets", async () => {
    const server = await start();
    expect((await usage(server, "")).points).toHaveLength(25);
    expect((await usage(server, "bucket=1m")).points).toHaveLength(1441);
    expect((await usage(server, "bucket=1d")).points).toHaveLength(31);
  });
});

describe("the whole server's series", () => {
  test("successes by credential source and refusals by reason", async () => {
    const server = await start();
    const { token } = await createToken(server);
    await use(server, token);
    await use(server, token);
    await use(server, "not-a-token-at-all");
    await server.fetch("/data");
    await use(server, `${token.slice(0, -4)}AAAA`);
    const points = nonZero((await usage(server, "bucket=1d")).points);
    expect(points).toHaveLength(1);
    expect(points[0]!.sources?.api).toBe(2);
    // The admin's calls (creating the token, this read) are successes too, by its source.
    expect(points[0]!.successes).toBe(Object.values(points[0]!.sources!).reduce((a, b) => a + b));
    expect(points[0]!.failures).toEqual({ unknown: 1, missing: 1, malformed: 1 });
  });

  sqliteOnly("two instances on one database file")("two instances' counts add up in the same buckets", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyward-usage-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "keyward.db");
    const [one, two] = [await start({}, file), await start({}, file)];
    const { token, id } = await createToken(one);
    for (let i = 0; i < 3; i++) await use(one, token);
    for (let i = 0; i < 5; i++) await use(two, token);
    await two.flush();
    const days = (await usage(one, `token_id=${id}&bucket=1d`)).points;
    expect(days.map((point) => point.successes).reduce((a, b) => a + b)).toBe(8);
    await Promise.all([one.store.close(), two.store.close()]);
  });
});

describe("usage kept by age", () => {
  test("minute buckets go after a day, hour buckets after 90 days; day buckets stay", async () => {
    const server = await start();
    const { token, id } = await createToken(server);
    await use(server, token);
    const used = new Date(server.clock.now() - minute).toISOString();
    const until = new Date(server.clock.now() + minute).toISOString();
    const total = async (bucket: string) => (await usage(server, `token_id=${id}&bucket=${bucket}&from=${used}&to=${until}`)).points.reduce((sum, point) => sum + point.successes, 0);
    expect([await total("1m"), await total("1h"), await total("1d")]).toEqual([1, 1, 1]);
    server.clock.advance(25 * hour);
    await server.flush();
    expect([await total("1m"), await total("1h"), await total("1d")]).toEqual([0, 1, 1]);
    server.clock.advance(91 * 24 * hour);
    await server.flush();
    expect([await total("1m"), await total("1h"), await total("1d")]).toEqual([0, 0, 1]);
  });
});

describe("asking for usage", () => {
  test.each([
    ["more than 1,500 points", "bucket=1m&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z", 422, "too_many_points"],
    ["from after to", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", 422, "invalid_range"],
    ["from equal to to", "bucket=1d&from=2026-01-01T12:00:00Z&to=2026-01-01T12:00:00Z", 422, "invalid_range"],
    ["a from that is not a date-time", "from=yesterday", 422, "validation_failed"],
    ["an unknown bucket", "bucket=5m", 422, "validation_failed"],
    ["an unknown token", "token_id=tok_0000000000000000", 404, "token_not_found"],
    ["a token id with a NUL", "token_id=tok_%00", 404, "token_not_found"],
  ])("%s", async (_, query, status, code) => {
    const server = await start();
    const res = await client(server).get(`/api/v1/usage?${query}`);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
  });

  test("exactly 1,500 minutes is allowed", async () => {
    const server = await start();
    const res = await client(server).get(`/api/v1/usage?bucket=1m&from=2026-01-01T00:00:00Z&to=2026-01-02T01:00:00Z`);
    expect(res.status).toBe(200);
    expect(res.body.points).toHaveLength(1500);
  });

  test("only an admin may read it", async () => {
    const server = await start();
    const { token } = await createToken(server);
    expect((await client(server, token).get("/api/v1/usage")).status).toBe(403);
    expect((await client(server, "").get("/api/v1/usage")).status).toBe(401);
    expect((await client(server, token).get("/api/v1/usage/top")).status).toBe(403);
  });
});

describe("the most used tokens", () => {
  test("by successes in the window, most first, with user and name", async () => {
    const server = await start();
    const a = await createToken(server, "alice", "laptop");
    const b = await createToken(server, "bob");
    for (let i = 0; i < 2; i++) await use(server, a.token);
    for (let i = 0; i < 5; i++) await use(server, b.token);
    const res = await client(server).get("/api/v1/usage/top?since=1h&limit=3");
    expect(res.status).toBe(200);
    const [first, second, third] = res.body.tokens;
    expect(first).toEqual({ token_id: b.id, user: "bob", name: null, successes: 5 });
    // The admin token's own calls rank between them or below, by count.
    expect([second, third].find((row: { token_id: string }) => row.token_id === a.id)).toEqual({ token_id: a.id, user: "alice", name: "laptop", successes: 2 });
    expect(new Date(res.body.since).getTime() % hour).toBe(0);
    expect((await client(server).get("/api/v1/usage/top?limit=1")).body.tokens.map((row: { token_id: string }) => row.token_id)).toEqual([b.id]);
  });

  test.each([
    ["since that is no duration", "since=soon", "invalid_duration"],
    ["a zero since", "since=0h", "invalid_duration"],
    ["a limit over 100", "limit=101", "validation_failed"],
  ])("%s", async (_, query, code) => {
    const server = await start();
    const res = await client(server).get(`/api/v1/usage/top?${query}`);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe(code);
  });
});
