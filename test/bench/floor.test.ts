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

  test("the floor answers GET /data and /auth/forward as Keyward does: same status, body and headers", async () => {
    const admin = "floor-test-admin-token-0123456789abcdef";
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: admin });
    const created = await kw.fetch("/api/v1/tokens", { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ user: "bench" }) });
    const { token: kwToken, id } = (await created.json()) as { token: string; id: string };
    const floor = await serve("bench/floor.ts", [kwToken, id]);
    for (const path of ["/data", "/auth/forward"]) {
      const init = { headers: { authorization: `Bearer ${kwToken}` } };
      const [ours, theirs] = await Promise.all([kw.fetch(path, init).then(answer), fetch(`${floor}${path}`, init).then(answer)]);
      expect(theirs).toEqual(ours);
      expect(ours.status).toBe(200);
    }
  });

  test("the twin's route compiles as synchronous, as Keyward's hot routes do: else it would measure a promise per request", () => {
    const app = elysiaFloor(token);
    app.compile();
    const route = (app.router.history as { path: string; compile?: () => Function }[]).find((r) => r.path === "/data");
    expect(route?.compile?.().constructor.name).toBe("Function");
  });
});
