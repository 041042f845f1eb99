import { beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { buildOnce, runKeyward } from "../helpers/binary";
import { serverPool } from "../helpers/server";

beforeAll(buildOnce, 120_000);
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });

// `keyward usage` reads the buckets a server wrote (at its stop, the last flush), as the API gives them.
describe("keyward usage", () => {
  test("prints a server's series and one token's, as text with a sparkline and as the API's JSON", async () => {
    const server = await start();
    const created = await client(server).post("/api/v1/tokens", { user: "alice" });
    const { token, id } = created.body as { token: string; id: string };
    for (let i = 0; i < 4; i++) expect((await server.fetch("/data", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await server.fetch("/data", { headers: { authorization: "Bearer wrong-token-value" } })).status).toBe(401);
    const api = (await client(server).get(`/api/v1/usage?token_id=${id}&bucket=1d`)).body;
    expect(await server.stop()).toBe(0);
    const env = { KEYWARD_DB: server.db };

    const json = await runKeyward(["usage", "--token", id, "--bucket", "1d", "--json"], { env });
    expect(json.code).toBe(0);
    const printed = JSON.parse(json.stdout);
    expect(printed.points).toEqual(api.points);
    expect(printed.points.reduce((sum: number, point: { successes: number }) => sum + point.successes, 0)).toBe(4);

    const text = await runKeyward(["usage", "--token", id, "--since", "2h"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Token ${id}, 1h buckets`);
    expect(text.stdout).toMatch(/^successes +▁*█ {2}4$/m);

    const all = await runKeyward(["usage", "--bucket", "1m", "--since", "30m"], { env });
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^refusals +[▁-█]+ {2}1 \(unknown 1\)$/m);
    expect(all.stdout).toMatch(/^successes .*api 4/m);
  });

  test.each([
    [["usage", "--since", "soon"], 2, "--since"],
    [["usage", "--bucket", "1m", "--since", "2d"], 2, "at most 1,500"],
    [["usage", "--bucket", "5m"], 2, "--bucket must be one of 1m, 1h, 1d"],
    [["usage", "--token", "tok_0000000000000000"], 1, "No token with id tok_0000000000000000"],
  ])("%p is refused with a clear message", async (args, code, message) => {
    const result = await runKeyward(args);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
  });
});
