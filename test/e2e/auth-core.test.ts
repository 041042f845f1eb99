import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { serverPool, type RunningServer } from "../helpers/server";

// The authentication core's promises on the compiled binary, one scenario each; the finer rules are
// in-process in test/modules/auth/. Client addresses travel in X-Forwarded-For from the loopback proxy.
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1" } });
const SLOW = 30_000;

const form = (ip: string, fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip },
  body: new URLSearchParams(fields).toString(),
});
const bearer = (ip: string, token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}`, "x-forwarded-for": ip } });

async function statuses(server: RunningServer, requests: [string, RequestInit][]): Promise<number[]> {
  return (await Promise.all(requests.map(([path, init]) => server.fetch(path, init)))).map((res) => res.status);
}
const count = (list: number[], status: number) => list.filter((s) => s === status).length;

describe("the authentication core, on the binary", () => {
  test("60 real argon2id password guesses for one account sent at once get at most 10 checks; the right one among them is not found", async () => {
    const server = await start();
    expect((await client(server).post("/api/v1/users", { username: "olga", password: "correct horse battery" })).status).toBe(201);
    const guesses = Array.from({ length: 60 }, (_, i): [string, RequestInit] => [
      "/login",
      form(`10.1.${i}.1`, { username: "olga", password: i === 40 ? "correct horse battery" : `guess ${i}` }),
    ]);
    const answers = await statuses(server, guesses);
    expect(count(answers, 200)).toBe(0);
    expect(count(answers, 401)).toBeLessThanOrEqual(10);
    expect(count(answers, 429)).toBeGreaterThanOrEqual(50);
  }, SLOW);

  test("josé locked out is jose + U+0301 locked out", async () => {
    const server = await start({ env: { KEYWARD_MAX_FAILURES: "3" } });
    expect((await client(server).post("/api/v1/users", { username: "jos\u00e9", password: "correct horse battery" })).status).toBe(201);
    for (let i = 0; i < 3; i++) await server.fetch("/login", form(`10.4.0.${i}`, { username: "jos\u00e9", password: "guess" }));
    expect((await server.fetch("/login", form("10.4.1.1", { username: "jose\u0301", password: "correct horse battery" }))).status).toBe(429);
  }, SLOW);

  test("lab mode gives nothing for a name someone owns, and marks its own tokens", async () => {
    const server = await start({ env: { KEYWARD_OPEN_LOGIN: "true" } });
    expect((await client(server).post("/api/v1/tokens", { user: "holder" })).status).toBe(201);
    expect(await statuses(server, ["holder", "admin"].map((id): [string, RequestInit] => ["/login", form("10.5.0.1", { id })]))).toEqual([401, 401]);
    const lab = await server.fetch("/login", form("10.5.0.2", { id: "student" }));
    const { token } = (await lab.json()) as { token: string };
    expect((await client(server, token).get("/api/v1/me")).body).toMatchObject({ user: "student", source: "lab" });
  }, SLOW);

  test("an IPv6 host is locked out across its /64, whatever it writes its address as", async () => {
    const server = await start();
    for (let i = 0; i < 10; i++) await server.fetch("/data", bearer(`2001:db8:7:7::${i + 1}`, `guess-${i}`));
    for (const ip of ["2001:DB8:7:7:0:0:0:99", "2001:db8:7:7:ffff::1"]) expect((await server.fetch("/data", bearer(ip, "guess"))).status).toBe(429);
    expect((await server.fetch("/data", bearer("2001:db8:7:8::1", "guess"))).status).toBe(401);
  }, SLOW);

  test("2,000 bad tokens from one address add a handful of audit rows, whose counts add up", async () => {
    const server = await start({ env: { KEYWARD_MAX_FAILURES: "1000000" } });
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => server.fetch("/data", bearer("10.9.0.1", `bad-${round}-${i}`))));
    }
    await client(server).get("/api/v1/audit?limit=1");
    const db = new Database(server.db, { readonly: true });
    const rows = db.query("SELECT count(*) AS n, sum(count) AS total FROM audit_events WHERE action = 'auth.failed' AND ip = '10.9.0.1'").get() as { n: number; total: number };
    db.close();
    expect(rows.total).toBe(2000);
    expect(rows.n).toBeLessThanOrEqual(4);
  }, SLOW);
});
