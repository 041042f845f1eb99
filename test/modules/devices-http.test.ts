import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { changesSettled } from "../helpers/engine";

// Seed 003's verification rules and the main token as a credential, in-process;
// test/e2e/devices.test.ts enrolls over the binary, restarts it and drives the device CLI.
const SECRET = "device-signing-secret-for-the-tests-0123456789";
type Server = Awaited<ReturnType<typeof inProcessApp>>;
const start = (env: Record<string, string> = {}): Promise<Server> => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: SECRET, ...env });

interface DeviceTokens {
  main_token: string;
  short_token: string;
  expires_at: string;
  device_id: string;
}

const enroll = (server: Server, fingerprint: string) => client(server, "").post<DeviceTokens>("/api/v1/tokens/main", { hardware_fingerprint: fingerprint });
const verify = (server: Server, query: string, headers: Record<string, string> = {}) => client(server, "").get(`/api/v1/tokens/verify${query}`, headers);

describe("seed 003: verify the short token", () => {
  test.each([
    ["query parameters", (s: string) => `?short_token=${s}&hardware_fingerprint=fp-1`, {}],
    ["headers", () => "", (s: string) => ({ "x-short-token": s, "x-hardware-fingerprint": "fp-1" })],
    ["a Bearer header", () => "?hardware_fingerprint=fp-1", (s: string) => ({ authorization: `Bearer ${s}` })],
  ] as const)("verifying with %s → 200 valid", async (_, query, headers) => {
    const server = await start();
    const { body } = await enroll(server, "fp-1");
    const res = await verify(server, query(body.short_token), typeof headers === "function" ? headers(body.short_token) : headers);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ valid: true, hardware_fingerprint: "fp-1", device_id: body.device_id, expires_at: body.expires_at });
  });

  test("the refusals: another fingerprint 403, garbled or unknown 401, revoked 401", async () => {
    const server = await start();
    const { body } = await enroll(server, "fp-1");
    const mismatch = await verify(server, `?short_token=${body.short_token}&hardware_fingerprint=fp-2`);
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.code).toBe("fingerprint_mismatch");
    for (const bad of ["garbled!", "A".repeat(32), ""]) {
      const res = await verify(server, `?short_token=${bad}&hardware_fingerprint=fp-1`);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("invalid_token");
    }
    await client(server).post(`/api/v1/devices/${body.device_id}/revoke`);
    expect((await verify(server, `?short_token=${body.short_token}&hardware_fingerprint=fp-1`)).body.code).toBe("invalid_token");
  });

  test.each([
    ["?short_token=", (s: string) => `?short_token=${s}`, () => ({})],
    ["an empty hardware_fingerprint", (s: string) => `?short_token=${s}&hardware_fingerprint=`, () => ({})],
    ["X-Short-Token", () => "", (s: string) => ({ "x-short-token": s })],
    ["a Bearer header", () => "", (s: string) => ({ authorization: `Bearer ${s}` })],
  ])("the short token alone, as %s → 200 with the fingerprint and nothing more", async (_, query, headers) => {
    const server = await start();
    const { body } = await enroll(server, "fp-1");
    const res = await verify(server, query(body.short_token), headers(body.short_token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ valid: true, hardware_fingerprint: "fp-1" });
  });

  test("the short token alone is refused as with a fingerprint: unknown, expired, revoked; each refusal counts toward lockout", async () => {
    const server = await start({ ACCESS_TOKEN_EXPIRE_DAY: "1", KEYWARD_MAX_FAILURES: "3" });
    const { body } = await enroll(server, "fp-1");
    server.clock.advance(2 * 86_400_000);
    expect((await verify(server, `?short_token=${body.short_token}`)).body.code).toBe("token_expired");
    expect((await verify(server, `?short_token=${"A".repeat(32)}`)).body.code).toBe("invalid_token");
    const other = (await enroll(server, "fp-2")).body;
    await client(server).post(`/api/v1/devices/${other.device_id}/revoke`);
    expect((await verify(server, `?short_token=${other.short_token}`)).body.code).toBe("invalid_token");
    const locked = await verify(server, `?short_token=${"B".repeat(32)}`);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe("too_many_failures");
  });

  test("a request with no short token at all is a 401, not a guess: never counted toward lockout nor audited", async () => {
    const server = await start({ KEYWARD_MAX_FAILURES: "3" });
    const { body } = await enroll(server, "fp-1");
    for (let i = 0; i < 5; i++) {
      const bare = await verify(server, "");
      expect(bare.status).toBe(401);
      expect(bare.body.code).toBe("invalid_token");
      expect(bare.headers.get("www-authenticate")).toBe('Bearer realm="keyward"');
    }
    // Not locked out: a wrong guess is still decided (401, not 429), and the good token still passes.
    expect((await verify(server, `?short_token=${"A".repeat(32)}`)).status).toBe(401);
    expect((await verify(server, `?short_token=${body.short_token}`)).status).toBe(200);
    await server.audit.flush();
    const failed = (await client(server).get("/api/v1/audit?action=auth.failed")).body as { detail: string; count: number }[];
    expect(failed.map(({ detail, count }) => [detail, count])).toEqual([["short_token unknown", 1]]);
  });

  test("a short token checked before is answered without a promise, with or without the fingerprint", async () => {
    const server = await start();
    const { body } = await enroll(server, "fp-1");
    await changesSettled(server.store);
    expect((await verify(server, `?short_token=${body.short_token}`)).status).toBe(200);
    const { core } = server;
    expect(core.shortToken(body.short_token, null, () => "127.0.0.1")).toMatchObject({ ok: true, device: { fingerprint: "fp-1" } });
    expect(core.shortToken(body.short_token, "fp-1", () => "127.0.0.1")).toMatchObject({ ok: true });
    expect(core.shortToken(body.short_token, "fp-2", () => "127.0.0.1")).toMatchObject({ ok: false, reason: "fingerprint_mismatch" });
  });

  test("enrolling the same fingerprint again replaces the earlier tokens", async () => {
    const server = await start();
    const first = (await enroll(server, "fp-1")).body;
    const second = (await enroll(server, "fp-1")).body;
    expect(second.device_id).toBe(first.device_id);
    expect((await verify(server, `?short_token=${first.short_token}&hardware_fingerprint=fp-1`)).status).toBe(401);
    expect((await verify(server, `?short_token=${second.short_token}&hardware_fingerprint=fp-1`)).status).toBe(200);
  });
});

describe("the main token as a credential", () => {
  test("with the matching X-Hardware-Fingerprint it opens /data and /api/v1/me as the device", async () => {
    const server = await start();
    const { body } = await enroll(server, "fp-1");
    const headers = { "x-hardware-fingerprint": "fp-1" };
    const me = await client(server, body.main_token).get("/api/v1/me", headers);
    expect(me.body).toMatchObject({ user: body.device_id, role: "device", source: "device" });
    expect((await client(server, body.main_token).get("/data", headers)).status).toBe(200);
    expect((await client(server, body.main_token).get("/data", { "x-hardware-fingerprint": "fp-2" })).status).toBe(403);
    expect((await client(server, body.main_token).get("/data")).status).toBe(401);
    expect((await client(server, body.main_token).get("/api/v1/tokens", headers)).status).toBe(403);
  });

  test("JWTs forged by a client are refused: alg none, another algorithm, another key, tampered, expired", async () => {
    const server = await start();
    const { body } = await enroll(server, "fp-1");
    const [header, payload, signature] = body.main_token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const sign = (alg: string, secret: string, extra: Record<string, unknown> = {}) =>
      new SignJWT({ ...claims, ...extra }).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));
    const forgeries = [
      `${encode({ alg: "none", typ: "JWT" })}.${payload}.`,
      await sign("HS384", SECRET),
      await sign("HS256", "a-different-secret-that-is-long-enough"),
      `${header}.${encode({ ...claims, sub: "dev_someoneelse" })}.${signature}`,
      await sign("HS256", SECRET, { exp: Math.floor(Date.now() / 1000) - 10 }),
    ];
    for (const forged of forgeries) {
      const res = await client(server, forged).get("/api/v1/me", { "x-hardware-fingerprint": "fp-1" });
      expect(res.status).toBe(401);
    }
  });
});

describe("the device list an admin approves from", () => {
  test("with no ?status= a device waiting for approval is listed beside the others; ?status=pending keeps only it", async () => {
    const server = await start({ KEYWARD_DEVICE_ENROLLMENT: "approval" });
    const waiting = (await enroll(server, "fp-waiting")).body as unknown as { device_id: string };
    const approved = (await enroll(server, "fp-approved")).body as unknown as { device_id: string };
    await client(server).post(`/api/v1/devices/${approved.device_id}/approve`);
    const statusOf = (list: { id: string; status: string }[]) => Object.fromEntries(list.map((d) => [d.id, d.status]));
    expect(statusOf((await client(server).get("/api/v1/devices")).body)).toEqual({ [waiting.device_id]: "pending", [approved.device_id]: "active" });
    expect(statusOf((await client(server).get("/api/v1/devices?status=pending")).body)).toEqual({ [waiting.device_id]: "pending" });
  });
});
