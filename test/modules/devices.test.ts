import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { DomainError } from "../../src/lib/errors";
import { approveDevice, enroll, resetDevice, type EnrollmentGrant } from "../../src/modules/devices/enrollment";
import { DeviceSightings, labelDevice, listDevices, revokeDevice, verifyMainToken, verifyShortToken } from "../../src/modules/devices/service";
import { DeviceTokenChecker } from "../../src/modules/devices/device-token-cache";
import { DeviceSigner, loadSigningSecret } from "../../src/modules/devices/signing";
import { memoryStore } from "../helpers/database";
import { memoryLogger } from "../helpers/memory-log";

const actor = { name: "test", ip: "10.0.0.1" };
const key = new TextEncoder().encode("k".repeat(40));
const day = 86_400_000;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function setup() {
  const store = memoryStore();
  const signer = new DeviceSigner(key, "HS256");
  const enrollWith = (grant: EnrollmentGrant, fingerprint = "fp-1", now = new Date()) => enroll(store, signer, { fingerprint, grant, lifetimeMs: 30 * day }, actor, now);
  const enrollNow = (fingerprint = "fp-1", now = new Date()) => enrollWith({ kind: "open" }, fingerprint, now);
  const count = (table: string) => (store.sqlite.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { ...store, store, signer, enrollWith, enrollNow, count };
}

async function issued(promise: ReturnType<ReturnType<typeof setup>["enrollNow"]>) {
  const result = await promise;
  if (result.status !== "issued") throw new Error("expected tokens");
  return result;
}

describe("device tokens", () => {
  test("the main token is a JWT with the fingerprint, sub, jti, iat and exp; the short token is 32 characters", async () => {
    const { enrollNow } = setup();
    const result = await issued(enrollNow("fp-abc"));
    const [header, payload] = result.mainToken.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toMatchObject({ hardware_fingerprint: "fp-abc", sub: result.device.id });
    expect(payload.jti).toMatch(/^dtk_/);
    expect(payload.exp - payload.iat).toBe(30 * 86_400);
    expect(result.shortToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  test("the short token depends on the server's key, not only on the main token or fingerprint", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln";
    expect(new DeviceSigner(key, "HS256").shortTokenOf(jwt)).not.toBe(new DeviceSigner(new TextEncoder().encode("o".repeat(40)), "HS256").shortTokenOf(jwt));
  });

  test("verifying a short token: right, wrong fingerprint, expired, garbled, unknown", async () => {
    const { db, signer, enrollNow } = setup();
    const now = new Date("2026-06-01T00:00:00Z");
    const { shortToken, device } = await issued(enrollNow("fp-1", now));
    expect(await verifyShortToken(db, signer, shortToken, "fp-1", now)).toMatchObject({ ok: true, device: { id: device.id } });
    expect(await verifyShortToken(db, signer, shortToken, "fp-2", now)).toMatchObject({ ok: false, reason: "fingerprint_mismatch" });
    expect(await verifyShortToken(db, signer, shortToken, "fp-1", new Date(now.getTime() + 31 * day))).toMatchObject({ ok: false, reason: "expired" });
    expect(await verifyShortToken(db, signer, `${shortToken.slice(0, 31)}!`, "fp-1", now)).toEqual({ ok: false, reason: "unknown" });
    expect(await verifyShortToken(db, signer, "A".repeat(32), "fp-1", now)).toEqual({ ok: false, reason: "unknown" });
  });

  test("a short token whose main token no longer derives (the key changed) is refused", async () => {
    const { db, enrollNow } = setup();
    const { shortToken } = await issued(enrollNow());
    const otherKey = new DeviceSigner(new TextEncoder().encode("z".repeat(40)), "HS256");
    expect(await verifyShortToken(db, otherKey, shortToken, "fp-1")).toMatchObject({ ok: false, reason: "unknown" });
  });

  test("enrolling again issues a new main token and retires the earlier one", async () => {
    const { db, signer, enrollNow } = setup();
    const first = await issued(enrollNow());
    const second = await issued(enrollNow());
    expect(second.device.id).toBe(first.device.id);
    expect(await verifyShortToken(db, signer, first.shortToken, "fp-1")).toMatchObject({ ok: false, reason: "unknown" });
    expect((await verifyShortToken(db, signer, second.shortToken, "fp-1")).ok).toBe(true);
    expect((await verifyMainToken(db, signer, first.mainToken, "fp-1")).ok).toBe(false);
  });

  test("a revoked device's tokens stop verifying and it cannot enroll again", async () => {
    const { store, db, signer, enrollNow } = setup();
    const { shortToken, mainToken, device } = await issued(enrollNow());
    await revokeDevice(store, device.id, actor);
    expect((await verifyShortToken(db, signer, shortToken, "fp-1")).ok).toBe(false);
    expect((await verifyMainToken(db, signer, mainToken, "fp-1")).ok).toBe(false);
    expect(enrollNow()).rejects.toBeInstanceOf(DomainError);
    await expect(approveDevice(store, device.id, actor)).rejects.toThrow("A revoked device cannot be approved");
  });

  test("labels, and the list by status", async () => {
    const { store, db, enrollNow } = setup();
    const { device } = await issued(enrollNow());
    expect((await labelDevice(store, device.id, "  front desk ", actor)).label).toBe("front desk");
    expect((await listDevices(db, { status: "active" })).items.map((d) => d.id)).toEqual([device.id]);
    expect((await listDevices(db, { status: "pending" })).items).toEqual([]);
    await expect(labelDevice(store, "dev_missing", "x", actor)).rejects.toThrow("No device dev_missing");
  });

  test.each(["", " ", "x".repeat(513), "tab\there"])("the fingerprint %p is refused", async (fingerprint) => {
    const { enrollNow } = setup();
    expect(enrollNow(fingerprint)).rejects.toMatchObject({ code: "invalid_fingerprint" });
  });
});

describe("main tokens presented as credentials", () => {
  test("a good main token with its fingerprint passes; with another fingerprint it does not", async () => {
    const { db, signer, enrollNow } = setup();
    const { mainToken } = await issued(enrollNow());
    expect((await verifyMainToken(db, signer, mainToken, "fp-1")).ok).toBe(true);
    expect(await verifyMainToken(db, signer, mainToken, "fp-2")).toMatchObject({ ok: false, reason: "fingerprint_mismatch" });
  });

  test("forgeries are refused: alg none, another algorithm, another key, a tampered payload, an expired exp", async () => {
    const { db, signer, enrollNow } = setup();
    const { mainToken } = await issued(enrollNow());
    const [header, payload, signature] = mainToken.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const sign = (alg: string, secret: Uint8Array, body = claims) => new SignJWT(body).setProtectedHeader({ alg, typ: "JWT" }).sign(secret);
    const forgeries = {
      "alg none": `${b64({ alg: "none", typ: "JWT" })}.${payload}.`,
      "HS512 with the right key": await sign("HS512", key),
      "HS256 with another key": await sign("HS256", new TextEncoder().encode("x".repeat(40))),
      "a tampered fingerprint": `${header}.${b64({ ...claims, hardware_fingerprint: "fp-evil" })}.${signature}`,
      "an expired exp, signed with the right key": await sign("HS256", key, { ...claims, exp: Math.floor(Date.now() / 1000) - 60 }),
    };
    for (const [name, forged] of Object.entries(forgeries)) {
      const check = await verifyMainToken(db, signer, forged, claims.hardware_fingerprint);
      expect(`${name}: ${check.ok}`).toBe(`${name}: false`);
    }
    expect((await signer.verify(forgeries["an expired exp, signed with the right key"])).ok).toBe(false);
  });
});

describe("the signing key", () => {
  test("is generated once and kept in the database when SECRET_KEY is not set", async () => {
    const store = memoryStore();
    const [first, second] = await Promise.all([loadSigningSecret(store, null, { shared: false }), loadSigningSecret(store, null, { shared: false })]);
    expect(first.length).toBe(64);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(store.sqlite.query("SELECT count(*) AS n FROM settings WHERE key = 'device_signing_key'").get()).toEqual({ n: 1 });
  });

  test("SECRET_KEY, when set, is used and nothing is stored", async () => {
    const { sqlite, ...store } = memoryStore();
    expect(Buffer.from(await loadSigningSecret(store, "s".repeat(32), { shared: false })).toString()).toBe("s".repeat(32));
    expect(sqlite.query("SELECT count(*) AS n FROM settings").get()).toEqual({ n: 0 });
  });
});

describe("the device-token cache", () => {
  test("a pass is remembered, but expiry and the fingerprint are checked every time", async () => {
    const { db, changes, signer, enrollNow } = setup();
    const now = new Date("2026-06-01T00:00:00Z");
    const { shortToken } = await issued(enrollNow("fp-1", now));
    const checker = new DeviceTokenChecker({ db, changes }, signer);
    expect((await checker.short(shortToken, "fp-1", now.getTime())).ok).toBe(true);
    expect(await checker.short(shortToken, "fp-2", now.getTime() + 1)).toMatchObject({ ok: false, reason: "fingerprint_mismatch" });
    expect(await checker.short(shortToken, "fp-1", now.getTime() + 31 * day)).toMatchObject({ ok: false, reason: "expired" });
  });

  test("a main token that passed answers at once the next time; expiry and the fingerprint are still checked every time", async () => {
    const { db, changes, signer, enrollNow } = setup();
    // jose checks a JWT's expiry against the real clock.
    const now = new Date();
    const { mainToken } = await issued(enrollNow("fp-1", now));
    const checker = new DeviceTokenChecker({ db, changes }, signer);
    const first = checker.main(mainToken, "fp-1", now.getTime());
    expect(first).toBeInstanceOf(Promise);
    expect((await first).ok).toBe(true);
    const again = checker.main(mainToken, "fp-1", now.getTime() + 1);
    expect(again).not.toBeInstanceOf(Promise);
    expect((again as { ok: boolean }).ok).toBe(true);
    expect(checker.main(mainToken, "fp-2", now.getTime() + 2)).toMatchObject({ ok: false, reason: "fingerprint_mismatch" });
    expect(await checker.main(mainToken, "fp-1", now.getTime() + 31 * day)).toMatchObject({ ok: false, reason: "expired" });
    expect(await checker.main(`${mainToken.slice(0, -2)}xx`, "fp-1", now.getTime())).toMatchObject({ ok: false, reason: "unknown" });
  });

  test("a token that passed as one kind is never found as the other: a main token is no short token, nor the reverse", async () => {
    const { db, changes, signer, enrollNow } = setup();
    const now = new Date();
    const { mainToken, shortToken } = await issued(enrollNow("fp-1", now));
    const checker = new DeviceTokenChecker({ db, changes }, signer);
    expect((await checker.main(mainToken, "fp-1", now.getTime())).ok).toBe(true);
    expect((await checker.short(shortToken, "fp-1", now.getTime())).ok).toBe(true);
    expect((await checker.short(mainToken, "fp-1", now.getTime())).ok).toBe(false);
    expect((await checker.main(shortToken, "fp-1", now.getTime())).ok).toBe(false);
  });

  test("a refused token is checked once, not a second time for its fingerprint: a stranger's guess costs one signature", async () => {
    const { db, changes, signer, enrollNow } = setup();
    const { mainToken } = await issued(enrollNow("fp-1", new Date()));
    let verified = 0;
    const counting = Object.assign(Object.create(signer), { verify: (jwt: string) => (verified++, signer.verify(jwt)) });
    const checker = new DeviceTokenChecker({ db, changes }, counting);
    expect(await checker.main(`${mainToken.slice(0, -2)}xx`, "fp-1")).toMatchObject({ ok: false, reason: "unknown" });
    expect(verified).toBe(1);
  });

  test("this process's own device changes are effective on the very next check; its sightings keep the cache", async () => {
    const { store, db, changes, signer, enrollNow } = setup();
    const { shortToken, device } = await issued(enrollNow());
    const checker = new DeviceTokenChecker({ db, changes }, signer);
    const sightings = new DeviceSightings(store, memoryLogger());
    expect((await checker.short(shortToken, "fp-1")).ok).toBe(true);
    const generation = changes.current();
    sightings.seen(device.id);
    await sightings.flush();
    expect(changes.current()).toBe(generation);
    await revokeDevice(store, device.id, actor);
    expect((await checker.short(shortToken, "fp-1")).ok).toBe(false);
  });
});
