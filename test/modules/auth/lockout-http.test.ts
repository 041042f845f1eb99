import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../../helpers/api";
import { inProcessApp } from "../../helpers/app";

// In-process; requests carry their client address in X-Forwarded-For, believed from the loopback peer.
type RunningServer = Awaited<ReturnType<typeof inProcessApp>>;
const start = (env: Record<string, string> = {}) => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1", ...env });

const from = (ip: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), "x-forwarded-for": ip } });
const login = (fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});
const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

async function addUser(server: RunningServer, username: string, password: string) {
  expect((await client(server).post("/api/v1/users", { username, password })).status).toBe(201);
}

async function newToken(server: RunningServer, user: string): Promise<string> {
  const res = await client(server).post("/api/v1/tokens", { user });
  expect(res.status).toBe(201);
  return res.body.token;
}

/** Sends every request at once and tallies the statuses and error codes. */
async function burst(server: RunningServer, requests: [string, RequestInit][]) {
  const answers = await Promise.all(requests.map(([path, init]) => server.fetch(path, init)));
  const statuses = answers.map((res) => res.status);
  const codes = await Promise.all(answers.map(async (res) => (res.ok ? null : ((await res.json()) as { code: string }).code)));
  const tally = (status: number) => statuses.filter((s) => s === status).length;
  const tallyCode = (code: string) => codes.filter((c) => c === code).length;
  for (const res of answers) if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  return { statuses, tally, tallyCode };
}

describe("lockout holds under concurrency", () => {
  test("60 password guesses for one account sent at once get at most 10 checks, and the right one hidden among them is not found", async () => {
    const server = await start();
    await addUser(server, "olga", "correct horse battery");
    const guesses: [string, RequestInit][] = Array.from({ length: 60 }, (_, i) => [
      "/login",
      from(`10.1.${i}.1`, login({ username: "olga", password: i === 40 ? "correct horse battery" : `guess ${i}` })),
    ]);
    const { tally } = await burst(server, guesses);
    expect(tally(200)).toBe(0);
    expect(tally(401)).toBeLessThanOrEqual(10);
    expect(tally(429)).toBeGreaterThanOrEqual(50);
  });

  test("60 password guesses from one address, each for another name, get at most 10 checks", async () => {
    const server = await start();
    const guesses: [string, RequestInit][] = Array.from({ length: 60 }, (_, i) => ["/login", from("10.2.0.1", login({ username: `user${i}`, password: "guess" }))]);
    const { tally } = await burst(server, guesses);
    expect(tally(401)).toBeLessThanOrEqual(10);
    expect(tally(429)).toBeGreaterThanOrEqual(50);
  });

  test("guessed environment tokens on every protected route share the address's budget", async () => {
    const server = await start();
    const guesses: [string, RequestInit][] = Array.from({ length: 60 }, (_, i) => {
      const path = ["/data", "/auth/forward", "/api/v1/me"][i % 3]!;
      return [path, from("10.3.0.1", bearer(`operator-secret-guess-${i}`))];
    });
    // Checked and refused, or refused unchecked: /auth/forward says the latter as a 401 too, for nginx.
    const { tallyCode } = await burst(server, guesses);
    expect(tallyCode("invalid_token")).toBeLessThanOrEqual(10);
    expect(tallyCode("too_many_failures")).toBeGreaterThanOrEqual(50);
  });
});

describe("lockout guards guesses, not good credentials", () => {
  test("cross-site form posts that lock an address out of /login do not lock its good tokens out", async () => {
    const server = await start();
    const token = await newToken(server, "nat-user");
    for (let i = 0; i < 15; i++) await server.fetch("/login", from("192.0.2.7", login({ username: "victim", password: `x${i}` })));
    expect((await server.fetch("/login", from("192.0.2.7", login({ username: "someone", password: "y" })))).status).toBe(429);
    const echo = { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ text: "hi" }) };
    for (const [path, init] of [["/data", bearer(token)], ["/auth/forward", bearer(token)], ["/echo", echo]] as const) {
      expect((await server.fetch(path, from("192.0.2.7", init))).status).toBe(200);
    }
  });
});

describe("Unicode spellings are one name", () => {
  const composed = "jos\u00e9";
  const decomposed = "jose\u0301";

  test("locking out josé locks out jose + U+0301 too", async () => {
    const server = await start({ KEYWARD_MAX_FAILURES: "3" });
    await addUser(server, composed, "correct horse battery");
    for (let i = 0; i < 3; i++) await server.fetch("/login", from(`10.4.0.${i}`, login({ username: composed, password: "guess" })));
    const res = await server.fetch("/login", from("10.4.1.1", login({ username: decomposed, password: "correct horse battery" })));
    expect(res.status).toBe(429);
  });

  test("/echo and revoke-by-user take either spelling as the same person", async () => {
    const server = await start();
    const token = await newToken(server, composed);
    const echo = await server.fetch("/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: decomposed.toUpperCase(), token, text: "hola" }),
    });
    expect(echo.status).toBe(200);
    expect(await echo.text()).toBe("You said: hola");
    const revoked = await client(server).post("/api/v1/tokens/revoke", { user: decomposed });
    expect(revoked.body).toEqual({ user: composed, revoked: 1 });
    expect((await server.fetch("/data", bearer(token))).status).toBe(401);
  });
});

describe("lab mode cannot impersonate", () => {
  const lab = { KEYWARD_OPEN_LOGIN: "true", API_TOKENS: "ops:ops-environment-token-5f3a9c2e7b1d4a6f" };

  test("an id-only login gets nothing for an account (even a removed one), the admin, an environment label or a token holder", async () => {
    const server = await start(lab);
    await addUser(server, "acct", "correct horse battery");
    await newToken(server, "holder");
    // An account removed before it ever held a token: a service may still trust its name.
    await addUser(server, "erin", "correct horse battery");
    expect((await client(server).delete("/api/v1/users/erin")).status).toBe(200);
    for (const name of ["acct", "ACCT", "admin", "ops", "holder", "erin"]) {
      const res = await server.fetch("/login", from("10.5.0.1", login({ id: name })));
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
    }
  });

  test("a free name gets a token marked lab, and an address gets at most 20 a window", async () => {
    const server = await start(lab);
    const res = await server.fetch("/login", from("10.6.0.1", login({ id: "student@lab.example" })));
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect((await client(server, token).get("/api/v1/me")).body).toMatchObject({ user: "student@lab.example", role: "user", source: "lab" });
    // The same student may log in again: a lab token does not make the name taken.
    expect((await server.fetch("/login", from("10.6.0.1", login({ id: "student@lab.example" })))).status).toBe(200);
    const { tally } = await burst(server, Array.from({ length: 25 }, (_, i) => ["/login", from("10.6.0.1", login({ id: `student${i}` }))]));
    expect(tally(200)).toBe(18);
    expect(tally(429)).toBe(7);
    expect((await server.fetch("/login", from("10.6.0.2", login({ id: "elsewhere" })))).status).toBe(200);
  });
});
