import { describe, expect, test } from "bun:test";
import { sha256Hex } from "../../src/lib/crypto";
import { approveDevice, enroll, resetDevice, type Enrollment, type EnrollmentGrant } from "../../src/modules/devices/enrollment";
import { verifyMainToken, verifyShortToken } from "../../src/modules/devices/service";
import { DeviceSigner } from "../../src/modules/devices/signing";
import { memoryStore } from "../helpers/database";

const actor = { name: "test", ip: "10.0.0.1" };
const day = 86_400_000;
const secret = (value: string | null = null): EnrollmentGrant => ({ kind: "secret", secret: value });

function setup() {
  const store = memoryStore();
  const signer = new DeviceSigner(new TextEncoder().encode("k".repeat(40)), "HS256");
  const enrollWith = (grant: EnrollmentGrant, fingerprint = "fp-1", now = new Date()) => enroll(store, signer, { fingerprint, grant, lifetimeMs: 30 * day }, actor, now);
  const count = (sql: string) => (store.sqlite.query(`SELECT count(*) AS n FROM ${sql}`).get() as { n: number }).n;
  const works = async (tokens: { mainToken: string; shortToken: string }, fingerprint = "fp-1") =>
    (await verifyShortToken(store.db, signer, tokens.shortToken, fingerprint)).ok && (await verifyMainToken(store.db, signer, tokens.mainToken, fingerprint)).ok;
  return { ...store, signer, enrollWith, count, works };
}

function as<S extends Enrollment["status"]>(result: Enrollment, status: S): Extract<Enrollment, { status: S }> {
  expect(result.status).toBe(status);
  return result as Extract<Enrollment, { status: S }>;
}

/** A device approved and holding the tokens it collected with its secret. */
async function approvedDevice(s: ReturnType<typeof setup>, fingerprint = "fp-1") {
  const pending = as(await s.enrollWith(secret(), fingerprint), "pending");
  await approveDevice(s, pending.device.id, actor);
  return as(await s.enrollWith(secret(pending.enrollmentSecret), fingerprint), "issued");
}

describe("approval enrollment", () => {
  test("the first request is pending with a one-time secret, kept only as a hash; asking again hands out no other", async () => {
    const s = setup();
    const first = as(await s.enrollWith(secret()), "pending");
    expect(first.enrollmentSecret).toMatch(/^kwe_[0-9A-Za-z]{32}$/);
    expect(s.sqlite.query("SELECT enrollment_secret_hash AS hash FROM devices").get()).toEqual({ hash: sha256Hex(first.enrollmentSecret!) });
    for (const grant of [secret(), secret("kwe_guess"), secret(first.enrollmentSecret)]) {
      expect(await s.enrollWith(grant)).toMatchObject({ status: "pending", enrollmentSecret: null });
    }
    expect(s.count("device_tokens")).toBe(0);
  });

  test("once approved, the secret collects the tokens once; without it or with another, nothing is issued", async () => {
    const s = setup();
    const { device, enrollmentSecret } = as(await s.enrollWith(secret()), "pending");
    await approveDevice(s, device.id, actor);
    expect(await s.enrollWith(secret())).toMatchObject({ status: "refused", reason: "secret_required" });
    expect(await s.enrollWith(secret("kwe_" + "A".repeat(32)))).toMatchObject({ status: "refused", reason: "invalid_secret" });
    expect(s.count("device_tokens")).toBe(0);
    const tokens = as(await s.enrollWith(secret(enrollmentSecret)), "issued");
    expect(await s.works(tokens)).toBe(true);
    expect(await s.enrollWith(secret(enrollmentSecret))).toMatchObject({ status: "refused", reason: "already_enrolled" });
    expect(await s.works(tokens)).toBe(true);
  });

  test("a device that holds no secret (reset, or pending from before secrets) gets one when it asks, and only then can be approved", async () => {
    const s = setup();
    const tokens = await approvedDevice(s);
    const reset = await resetDevice(s, tokens.device.id, "approval", actor);
    expect(reset.status).toBe("pending");
    expect(await s.works(tokens)).toBe(false);
    await expect(approveDevice(s, reset.id, actor)).rejects.toThrow(expect.objectContaining({ code: "enrollment_not_requested" }));
    const asked = as(await s.enrollWith(secret()), "pending");
    expect(asked.enrollmentSecret).toMatch(/^kwe_/);
    expect(as(await s.enrollWith(secret()), "pending").enrollmentSecret).toBeNull();
    await approveDevice(s, reset.id, actor);
    expect(await s.works(as(await s.enrollWith(secret(asked.enrollmentSecret)), "issued"))).toBe(true);
  });
});

describe("a device that holds tokens", () => {
  test("renews with its own current main token, once: the old token stops, the new one works", async () => {
    const s = setup();
    const first = await approvedDevice(s);
    const renewal = { kind: "device" as const, tokenId: JSON.parse(Buffer.from(first.mainToken.split(".")[1]!, "base64url").toString()).jti };
    const second = as(await s.enrollWith(renewal), "issued");
    expect(await s.works(first)).toBe(false);
    expect(await s.works(second)).toBe(true);
    expect(await s.enrollWith(renewal)).toMatchObject({ status: "refused", reason: "stale_credential" });
    expect(await s.works(second)).toBe(true);
  });

  test("under token enrollment, a user's token cannot replace its live tokens, but may re-enroll it once they expired or an admin reset it", async () => {
    const s = setup();
    const now = new Date("2026-06-01T00:00:00Z");
    const first = as(await s.enrollWith({ kind: "user" }, "fp-1", now), "issued");
    expect(await s.enrollWith({ kind: "user" }, "fp-1", new Date(now.getTime() + day))).toMatchObject({ status: "refused", reason: "already_enrolled" });
    expect((await verifyShortToken(s.db, s.signer, first.shortToken, "fp-1", new Date(now.getTime() + day))).ok).toBe(true);
    const afterExpiry = as(await s.enrollWith({ kind: "user" }, "fp-1", new Date(now.getTime() + 31 * day)), "issued");
    await resetDevice(s, afterExpiry.device.id, "token", actor, new Date(now.getTime() + 32 * day));
    expect((await s.enrollWith({ kind: "user" }, "fp-1", new Date(now.getTime() + 33 * day))).status).toBe("issued");
  });

  test("under approval, its fingerprint alone, even with a secret, yields nothing and its tokens keep working", async () => {
    const s = setup();
    const tokens = await approvedDevice(s);
    for (const grant of [secret(), secret("kwe_" + "B".repeat(32))]) {
      expect(await s.enrollWith(grant)).toMatchObject({ status: "refused", reason: "already_enrolled" });
    }
    expect(await s.works(tokens)).toBe(true);
  });

  test("a revoked device can be neither reset nor enrolled", async () => {
    const s = setup();
    const tokens = await approvedDevice(s);
    s.sqlite.run("UPDATE devices SET status = 'revoked'");
    await expect(resetDevice(s, tokens.device.id, "approval", actor)).rejects.toThrow("A revoked device cannot be reset");
    await expect(s.enrollWith(secret())).rejects.toMatchObject({ code: "device_revoked" });
  });
});

describe("rows", () => {
  test("re-enrolling replaces the device's token row instead of adding one", async () => {
    const s = setup();
    let latest = as(await s.enrollWith({ kind: "open" }), "issued");
    for (let i = 0; i < 200; i++) latest = as(await s.enrollWith({ kind: "open" }), "issued");
    expect(s.count("device_tokens")).toBe(1);
    expect(s.count("devices")).toBe(1);
    expect(await s.works(latest)).toBe(true);
  });

  test("a pending device asking again adds no rows", async () => {
    const s = setup();
    await s.enrollWith(secret());
    const before = s.count("devices") + s.count("device_tokens") + s.count("audit_events");
    for (let i = 0; i < 200; i++) await s.enrollWith(secret(i % 2 ? null : `kwe_${i}`));
    expect(s.count("devices") + s.count("device_tokens") + s.count("audit_events")).toBe(before);
  });
});

