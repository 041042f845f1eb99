import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { serverPool, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

// Regressions for what a hostile review of the authentication core found; each failed before its fix.
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1" } });
const json = { "content-type": "application/json" };
const from = (ip: string, headers: Record<string, string> = {}) => ({ ...headers, "x-forwarded-for": ip });

/** Ten bad guessable tokens, and the address is locked out. */
async function lockOut(server: RunningServer, ip: string) {
  for (let i = 0; i < 10; i++) await server.fetch("/api/v1/me", { headers: from(ip, { authorization: `Bearer wrong${i}` }) });
  expect((await server.fetch("/api/v1/me", { headers: from(ip, { authorization: "Bearer wrong" }) })).status).toBe(429);
}

describe("environment tokens are guesses, whatever they look like", () => {
  test("obviously weak values are refused at start", async () => {
    for (const value of ["a".repeat(32), "password".repeat(4)]) {
      expect(await start({ env: { API_TOKENS: `svc:${value}` } }).then(() => "started", () => "refused")).toBe("refused");
    }
  }, 30_000);

  test("one shaped like a device's short token or a JWT is refused unchecked from a locked-out address, on every route", async () => {
    const shortShaped = "0123456789abcdef0123456789abcdef";
    const jwtShaped = "my.api.key";
    const server = await start({ env: { API_TOKENS: `svc:${shortShaped},jw:${jwtShaped}`, KEYWARD_ALLOW_WEAK_ENV_TOKENS: "true", KEYWARD_INTROSPECT_ROLE: "admin" } });
    await lockOut(server, "10.20.0.1");
    for (const token of [shortShaped, jwtShaped]) {
      expect((await server.fetch("/api/v1/me", { headers: from("10.20.0.1", { authorization: `Bearer ${token}` }) })).status).toBe(429);
    }
    // A resource server with a Keyward token passes from there, but may not test environment values.
    const caller = (await client(server).post("/api/v1/tokens", { user: "rs", role: "admin" })).body.token as string;
    const introspect = (subject: string) =>
      server.fetch("/oauth/introspect", {
        method: "POST",
        headers: from("10.20.0.1", { authorization: `Bearer ${caller}`, "content-type": "application/x-www-form-urlencoded" }),
        body: `token=${subject}`,
      });
    expect((await introspect(shortShaped)).status).toBe(429);
    expect(await (await introspect(caller)).json()).toMatchObject({ active: true, sub: "rs" });
  }, 30_000);
});

describe("a lab token never speaks for a name someone owns later", () => {
  test.each([
    ["an account", (server: RunningServer) => client(server).post("/api/v1/users", { username: "Carol", password: "correct horse battery" })],
    ["an API token", (server: RunningServer) => client(server).post("/api/v1/tokens", { user: "carol" })],
  ])("%s made for the name stops its lab tokens", async (_, own) => {
    const server = await start({ env: { KEYWARD_OPEN_LOGIN: "true" } });
    const lab = (await (await server.fetch("/login", { method: "POST", headers: json, body: JSON.stringify({ id: "carol" }) })).json()) as { token: string };
    expect((await server.fetch("/auth/forward", { headers: { authorization: `Bearer ${lab.token}` } })).status).toBe(200);
    expect((await own(server)).status).toBe(201);
    expect((await server.fetch("/auth/forward", { headers: { authorization: `Bearer ${lab.token}` } })).status).toBe(401);
  }, 30_000);
});

describe("device enrollment is bounded like any guess", () => {
  test("60 wrong enrollment secrets at once get at most 10 checks, and a locked-out address gets 429", async () => {
    const server = await start({ env: { KEYWARD_DEVICE_ENROLLMENT: "approval" } });
    const enroll = (body: object, ip: string) => server.fetch("/api/v1/tokens/main", { method: "POST", headers: from(ip, json), body: JSON.stringify(body) });
    const pending = (await (await enroll({ hardware_fingerprint: "victim" }, "10.21.0.5")).json()) as { device_id: string };
    expect((await client(server).post(`/api/v1/devices/${pending.device_id}/approve`)).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => enroll({ hardware_fingerprint: "victim", enrollment_secret: `kwe_guess${i}` }, "10.21.8.8")));
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(10);
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(50);
    await lockOut(server, "10.21.9.9");
    expect((await enroll({ hardware_fingerprint: "victim", enrollment_secret: "kwe_guess" }, "10.21.9.9")).status).toBe(429);
  }, 30_000);

  test("the enrollment rate counts an IPv6 host by its /64", async () => {
    const server = await start({ env: { KEYWARD_DEVICE_ENROLL_RATE: "20" } });
    let accepted = 0;
    for (let i = 0; i < 40; i++) {
      const ip = `2001:db8:1:2::${(i + 1).toString(16)}`;
      const res = await server.fetch("/api/v1/tokens/main", { method: "POST", headers: from(ip, json), body: JSON.stringify({ hardware_fingerprint: `spam-${i}` }) });
      if (res.status === 201) accepted++;
    }
    expect(accepted).toBe(20);
    const db = new Database(server.db, { readonly: true });
    expect((db.query("SELECT count(*) AS n FROM devices").get() as { n: number }).n).toBe(20);
    db.close();
  }, 30_000);

  test("enrolling a revoked device is a refusal that counts against the address", async () => {
    const server = await start();
    const enroll = (ip: string) => server.fetch("/api/v1/tokens/main", { method: "POST", headers: from(ip, json), body: JSON.stringify({ hardware_fingerprint: "gone" }) });
    const device = (await (await enroll("10.22.1.1")).json()) as { device_id: string };
    expect((await client(server).post(`/api/v1/devices/${device.device_id}/revoke`)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await enroll("10.22.0.1")).status).toBe(403);
    expect((await server.fetch("/api/v1/me", { headers: from("10.22.0.1", { authorization: "Bearer guess" }) })).status).toBe(429);
  }, 30_000);
});

test("an environment token in a request path never reaches the log", async () => {
  const token = "Q7xk2Lm9Pz4Rt8Vw3Ny6Bc";
  const server = await start({ env: { API_TOKENS: `svc:${token}`, KEYWARD_LOG: "info" } });
  await server.fetch(`/auth/forward/${token}`);
  await server.fetch(`/api/v1/${token}`);
  await server.fetch("/health");
  await until(() => server.logs().includes('"path":"/health"'), "the access log line of /health");
  expect(server.logs()).toContain("/auth/forward/[redacted]");
  expect(server.logs()).not.toContain(token);
}, 30_000);
