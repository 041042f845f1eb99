import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { tempDir } from "../helpers/binary";
import { serverPool, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

// A quota's uses are spent in the database before the answer: no crash or stop gives one back.
// The binary, killed or stopped while clients spend, then started again on the same file.
const pool = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_LOG: "warn" } });
const INITIAL = 100_000;

async function quotaToken(server: RunningServer, remaining = INITIAL) {
  const res = await client(server).post("/api/v1/tokens", { user: "metered", remaining_uses: remaining });
  expect(res.status).toBe(201);
  return res.body as { token: string; id: string };
}

const remainingAfterRestart = async (cwd: string, id: string) => {
  const server = await pool({ cwd });
  return (await client(server).get(`/api/v1/tokens/${id}`)).body.remaining_uses as number;
};

/** Eight clients spending at once until `stop`; the count of answers that let them through. */
function spenders(server: RunningServer, token: string) {
  let stop = false;
  let answered = 0;
  const clients = Array.from({ length: 8 }, async () => {
    while (!stop) {
      const res = await server.fetch("/data", { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
      if (res?.status === 200) answered++;
      else if (res !== null && res.status !== 503) throw new Error(`unexpected ${res.status}`);
    }
  });
  return {
    answered: () => answered,
    async end() {
      stop = true;
      await Promise.all(clients);
      return answered;
    },
  };
}

describe("a quota across crashes and stops", () => {
  test("N uses answered one by one, then kill -9 at once: after a restart exactly N are gone", async () => {
    const cwd = tempDir();
    const server = await pool({ cwd });
    const { token, id } = await quotaToken(server, 50);
    for (let i = 0; i < 17; i++) expect((await server.fetch("/data", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    expect(await remainingAfterRestart(cwd, id)).toBe(50 - 17);
  });

  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    test(`${signal} while eight clients spend: never more answered than spent, and no more spent than answers in flight`, async () => {
      const cwd = tempDir();
      const server = await pool({ cwd });
      const { token, id } = await quotaToken(server);
      const load = spenders(server, token);
      await until(() => load.answered() >= 300, "300 uses answered");
      server.proc.kill(signal);
      const answered = await load.end();
      expect(await server.proc.exited).toBe(signal === "SIGTERM" ? 0 : 137);
      const spent = INITIAL - (await remainingAfterRestart(cwd, id));
      // Each 200 was paid for before it was sent; at most the eight requests in flight were paid and not heard.
      expect(spent).toBeGreaterThanOrEqual(answered);
      expect(spent).toBeLessThanOrEqual(answered + 8);
      console.log(`${signal}: ${answered} answered, ${spent} spent`);
    });
  }
});
