import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

// In-process; the failures carry their client address in X-Forwarded-For, believed from the loopback peer.
const start = () => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1", KEYWARD_MAX_FAILURES: "3", KEYWARD_FAILURE_WINDOW: "1m" });
type Server = Awaited<ReturnType<typeof start>>;

const badToken = (server: Server, ip: string) => server.fetch("/data", { headers: { authorization: `Bearer kw_${"x".repeat(49)}`, "x-forwarded-for": ip } });
const badLogin = (server: Server, ip: string, username: string) =>
  server.fetch("/login", { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": ip }, body: JSON.stringify({ username, password: "wrong guess" }) });

describe("GET /api/v1/lockouts", () => {
  test("lists the addresses and names locked now, the latest to end first, until their window ends", async () => {
    const server = await start();
    expect((await client(server).get("/api/v1/lockouts")).body).toEqual([]);
    // The test clock runs on with the real one: a lock ends a window after the failure that made it, give or take the test's own time.
    const ends = async (fail: () => Promise<unknown>) => {
      const before = server.clock.now();
      await fail();
      return [before + 60_000, server.clock.now() + 60_000];
    };
    const address = await ends(async () => {
      for (let i = 0; i < 3; i++) await badToken(server, "10.9.0.1");
    });
    server.clock.advance(1_000);
    // Three addresses, one failure each: only the name is locked, in its canonical spelling.
    const name = await ends(async () => {
      for (let i = 0; i < 3; i++) await badLogin(server, `10.8.${i}.1`, "Olga");
    });
    const res = await client(server).get("/api/v1/lockouts");
    expect(res.status).toBe(200);
    expect(res.body.map(({ kind, subject }: { kind: string; subject: string }) => [kind, subject])).toEqual([
      ["name", "olga"],
      ["address", "10.9.0.1"],
    ]);
    for (const [lock, [earliest, latest]] of [[res.body[0], name], [res.body[1], address]] as const) {
      expect(Date.parse(lock.until)).toBeGreaterThanOrEqual(earliest!);
      expect(Date.parse(lock.until)).toBeLessThanOrEqual(latest!);
    }
    expect((await client(server).get("/api/v1/lockouts?limit=1")).body).toEqual([res.body[0]]);
    server.clock.advance(59_000);
    expect((await client(server).get("/api/v1/lockouts")).body).toEqual([res.body[0]]);
    server.clock.advance(1_000);
    expect((await client(server).get("/api/v1/lockouts")).body).toEqual([]);
  });

  test("admin only, and a limit out of bounds is a 422", async () => {
    const server = await start();
    const user = (await client(server).post("/api/v1/tokens", { user: "alice" })).body.token;
    expect((await server.fetch("/api/v1/lockouts")).status).toBe(401);
    expect((await client(server, user).get("/api/v1/lockouts")).status).toBe(403);
    for (const limit of ["0", "501", "ten", "1e9"]) expect((await client(server).get(`/api/v1/lockouts?limit=${limit}`)).status).toBe(422);
  });
});
