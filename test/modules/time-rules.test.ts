import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client, jsonPost } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

// Every rule here is about time passing: the clock is advanced, never slept through. The test clock
// is real time plus what was advanced, so windows are long enough that the test's own time is noise.
const kw = (env: Record<string, string> = {}) => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "s".repeat(40), ...env });
const invalid = { error: "Invalid or expired authentication token", code: "invalid_token", detail: "Invalid or expired authentication token" };

describe("tokens end when their time is up", () => {
  test("a token with a short TTL stops working when it expires", async () => {
    const server = await kw();
    const { token } = (await client(server).post("/api/v1/tokens", { user: "eve", expires_in: "1s" })).body;
    expect((await client(server, token).get("/data")).status).toBe(200);
    server.clock.advance(1_001);
    const res = await client(server, token).get("/data");
    expect(res.status).toBe(401);
    expect(res.body).toEqual(invalid);
  });

  test("rotating with grace: the old token works until the grace period ends, visibly", async () => {
    const server = await kw();
    const old = (await client(server).post("/api/v1/tokens", { user: "hank" })).body;
    const rotated = await client(server).post(`/api/v1/tokens/${old.id}/rotate`, { grace: "2s" });
    expect(rotated.status).toBe(201);
    const record = await client(server).get(`/api/v1/tokens/${old.id}`);
    expect(record.body).toMatchObject({ status: "rotating", replaced_by: rotated.body.id });
    expect(Date.parse(record.body.revoked_at)).toBeGreaterThan(server.clock.now());
    expect((await client(server, old.token).get("/data")).status).toBe(200);
    expect((await client(server, rotated.body.token).get("/data")).status).toBe(200);
    server.clock.advance(2_001);
    expect((await client(server, old.token).get("/data")).status).toBe(401);
    expect((await client(server, rotated.body.token).get("/data")).status).toBe(200);
  });

  test("a login token expires with KEYWARD_LOGIN_TTL", async () => {
    const server = await kw({ KEYWARD_LOGIN_TTL: "1s" });
    expect((await client(server).post("/api/v1/users", { username: "carol", password: "correct horse battery" })).status).toBe(201);
    const { token } = (await (await server.fetch("/login", jsonPost({ username: "carol", password: "correct horse battery" }))).json()) as { token: string };
    expect((await client(server, token).get("/data")).status).toBe(200);
    server.clock.advance(1_001);
    expect((await client(server, token).get("/data")).status).toBe(401);
  });

  test("a device's short token → 401 token_expired once ACCESS_TOKEN_EXPIRE_DAY has passed", async () => {
    const server = await kw({ ACCESS_TOKEN_EXPIRE_DAY: "0.00002" });
    const { body } = await client(server, "").post("/api/v1/tokens/main", { hardware_fingerprint: "fp-short-lived" });
    const verify = () => client(server, "").get(`/api/v1/tokens/verify?short_token=${body.short_token}&hardware_fingerprint=fp-short-lived`);
    expect((await verify()).status).toBe(200);
    server.clock.advance(Date.parse(body.expires_at) - server.clock.now() + 1);
    const res = await verify();
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: "The token has expired", code: "token_expired", detail: "The token has expired" });
  });
});

describe("usage is stamped with the clock", () => {
  test("a token's last use is the time of its last request, not of its creation", async () => {
    const server = await kw();
    const { id, token } = (await client(server).post("/api/v1/tokens", { user: "ursula" })).body;
    server.clock.advance(3_600_000);
    const usedAt = server.clock.now();
    expect((await client(server, token).get("/data")).status).toBe(200);
    await server.flush();
    const record = (await client(server).get(`/api/v1/tokens/${id}`)).body;
    expect(record).toMatchObject({ request_count: 1, last_ip: "127.0.0.1" });
    expect(Date.parse(record.last_used_at)).toBeWithin(usedAt, usedAt + 1_000);
  });
});

describe("a lockout lasts KEYWARD_FAILURE_WINDOW", () => {
  const limits = { KEYWARD_MAX_FAILURES: "3", KEYWARD_FAILURE_WINDOW: "1m", KEYWARD_TRUSTED_PROXIES: "127.0.0.1" };
  const from = (ip: string) => ({ "x-forwarded-for": ip });

  test("failed logins from one address lead to 429 with Retry-After, other addresses are unaffected, and it ends after the window", async () => {
    const server = await kw(limits);
    for (const username of ["ivan", "judy"]) await client(server).post("/api/v1/users", { username, password: "correct horse battery" });
    const attempt = (ip: string, username: string, password: string) => server.fetch("/login", jsonPost({ username, password }, from(ip)));
    for (let i = 0; i < 3; i++) expect((await attempt("10.0.0.66", `nobody${i}`, "guess")).status).toBe(401);
    const locked = await attempt("10.0.0.66", "ivan", "correct horse battery");
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeWithin(45, 61);
    expect(await locked.json()).toMatchObject({ code: "too_many_failures" });
    expect((await attempt("10.0.0.7", "judy", "correct horse battery")).status).toBe(200);
    server.clock.advance(40_000);
    expect((await attempt("10.0.0.66", "ivan", "correct horse battery")).status).toBe(429);
    server.clock.advance(20_001);
    expect((await attempt("10.0.0.66", "ivan", "correct horse battery")).status).toBe(200);
    await server.flush();
    const audit = await client(server).get("/api/v1/audit?action=auth.locked");
    expect(audit.body[0]).toMatchObject({ ip: "10.0.0.66" });
  });
});
