import { afterAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { elysiaFloor } from "../../bench/elysia-floor";
import { generateToken } from "../../src/lib/token-format";
import { inProcessApp } from "../helpers/app";

const repo = resolve(import.meta.dir, "../..");
const token = generateToken();
const servers: Bun.Subprocess[] = [];
afterAll(() => servers.forEach((server) => server.kill()));

/** One of the bench's yardsticks, started as `npm run bench` starts it; its URL once it listens. */
async function serve(script: string, args = [token]): Promise<string> {
  const server = Bun.spawn(["bun", script, "0", ...args], { cwd: repo, stdout: "pipe", stderr: "inherit" });
  servers.push(server);
  const reader = server.stdout.getReader();
  let printed = "";
  while (!/listening \d+/.test(printed)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${script} exited: ${printed}`);
    printed += new TextDecoder().decode(value);
  }
  return `http://127.0.0.1:${/listening (\d+)/.exec(printed)![1]}`;
}

// Date and Content-Length are the transport's (an in-process answer has neither), not the route's.
const answer = async (res: Response) => ({ status: res.status, body: await res.text(), headers: [...res.headers.entries()].filter(([name]) => name !== "date" && name !== "content-length") });

describe("the benchmark's floor and its Elysia twin", () => {
  test("answer alike: the token's user with the security headers, a refusal for any other", async () => {
    const [floor, twin] = await Promise.all([serve("bench/floor.ts"), serve("bench/elysia-floor.ts")]);
    for (const authorization of [`Bearer ${token}`, `Bearer ${generateToken()}`, "Bearer nope", ""]) {
      const init: RequestInit = { headers: authorization ? { authorization } : {} };
      const [a, b] = await Promise.all([fetch(`${floor}/data`, init).then(answer), fetch(`${twin}/data`, init).then(answer)]);
      expect(b).toEqual(a);
      expect(a.status).toBe(authorization === `Bearer ${token}` ? 200 : 401);
    }
  });

  test("the floor and its twin answer GET /data and /auth/forward as Keyward does: same status, body and headers", async () => {
    const admin = "floor-test-admin-token-0123456789abcdef";
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: admin });
    const created = await kw.fetch("/api/v1/tokens", { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ user: "bench" }) });
    const { token: kwToken, id } = (await created.json()) as { token: string; id: string };
    const [floor, twin] = await Promise.all([serve("bench/floor.ts", [kwToken, id]), serve("bench/elysia-floor.ts", [kwToken, id])]);
    const init = { headers: { authorization: `Bearer ${kwToken}` } };
    for (const path of ["/data", "/auth/forward"]) {
      const [ours, theirs, twins] = await Promise.all([kw.fetch(path, init).then(answer), fetch(`${floor}${path}`, init).then(answer), fetch(`${twin}${path}`, init).then(answer)]);
      expect(theirs).toEqual(ours);
      expect(twins).toEqual(ours);
      expect(ours.status).toBe(200);
    }
    // Forward auth reads its URL for ?role=, and so do the floor and its twin: another role passes none.
    for (const [query, status] of [["?role=admin", 403], ["?role=admin,user", 200]] as const) {
      const statuses = await Promise.all([kw.fetch(`/auth/forward${query}`, init), fetch(`${floor}/auth/forward${query}`, init), fetch(`${twin}/auth/forward${query}`, init)].map((r) => r.then((res) => res.status)));
      expect(statuses).toEqual([status, status, status]);
    }
  });

  test("the twin's routes compile as synchronous, as Keyward's hot routes do: else they would measure a promise per request", () => {
    const app = elysiaFloor(token);
    app.compile();
    const routes = app.router.history as { path: string; method: string; compile?: () => Function }[];
    for (const path of ["/data", "/auth/forward"]) expect(routes.find((r) => r.path === path)?.compile?.().constructor.name).toBe("Function");
    // Routed as Keyward's /auth/forward is: for every method, through Elysia's own router.
    expect(routes.find((r) => r.path === "/auth/forward")?.method).toBe("ALL");
  });
});
