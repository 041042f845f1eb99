import { and, eq, isNull, lte, or } from "drizzle-orm";
import type { enrollmentPolicies } from "../../config";
import { tablesOf, type Db, type Store, type Transaction } from "../../db/client";
import { constantTimeEqual, randomBase62, sha256Hex } from "../../lib/crypto";
import { DomainError } from "../../lib/errors";
import { recordAudit } from "../audit/service";
import { liveAt } from "../tokens/liveness";
import type { Actor } from "../tokens/service";
import { checkFingerprint, getDevice, type DeviceRow } from "./service";
import type { DeviceSigner } from "./signing";

export type EnrollmentPolicy = (typeof enrollmentPolicies)[number];

/** What entitles a request to tokens for its fingerprint; the route decides it from the policy and the credential. */
export type EnrollmentGrant =
  /** The `open` policy: the fingerprint is only an identifier, and enough. */
  | { kind: "open" }
  /** A user or admin token under the `token` policy: enough for a device that holds no live token. */
  | { kind: "user" }
  /** The device's own current main token: it renews, once. */
  | { kind: "device"; tokenId: string }
  /** No credential under the `approval` policy: the one-time enrollment secret, if any. */
  | { kind: "secret"; secret: string | null };

export type EnrollmentRefusal = "already_enrolled" | "secret_required" | "invalid_secret" | "stale_credential" | "key_required" | "key_mismatch" | "unproven_binding";

export type Enrollment =
  | { status: "issued"; device: DeviceRow; mainToken: string; shortToken: string; expiresAt: Date }
  /** `enrollmentSecret` only in the answer that made it: it is stored as a hash. */
  | { status: "pending"; device: DeviceRow; enrollmentSecret: string | null }
  /** No device when refused before one was looked up (a key required and none proven). */
  | { status: "refused"; device?: DeviceRow; reason: EnrollmentRefusal };

export interface EnrollmentInput {
  fingerprint: string;
  grant: EnrollmentGrant;
  lifetimeMs: number;
  /** The thumbprint of the key this request proved it holds (a DPoP proof); none by default. */
  key?: string | null;
  /** KEYWARD_DEVICE_REQUIRE_KEY: no tokens without a key. */
  requireKey?: boolean;
}

/** 32 base62 characters: about 190 bits. */
const newEnrollmentSecret = () => `kwe_${randomBase62(32)}`;

async function findByFingerprint(db: Db, fingerprint: string): Promise<DeviceRow | undefined> {
  const { devices } = tablesOf(db);
  const [device] = await db.select().from(devices).where(eq(devices.fingerprint, fingerprint));
  return device;
}

/**
 * Enrolls a fingerprint. A new device is active, or pending under the approval policy, where it
 * is handed a one-time enrollment secret. Once a device holds tokens, only its own main token (or
 * an admin's reset) yields new ones, except under the open policy; a new token retires the
 * earlier ones, so a device has one live credential and one token row. A key proven by the first
 * enrollment that brings one binds the device: from then on every enrollment must prove it too,
 * whatever the policy, until an admin resets the device.
 */
export async function enroll(store: Store, signer: DeviceSigner, input: EnrollmentInput, actor: Actor, now = new Date()): Promise<Enrollment> {
  const { db } = store;
  const fingerprint = checkFingerprint(input.fingerprint);
  const { grant, key = null } = input;
  // Before any row: a stranger without a key leaves nothing behind.
  if (input.requireKey && key === null) return { status: "refused", reason: "key_required" };
  let device = await findByFingerprint(db, fingerprint);
  if (!device) {
    const created = await create(store, fingerprint, grant.kind === "secret", key, actor, now);
    // Lost a race with another request for the same fingerprint: that one made the device.
    if (!created) device = (await findByFingerprint(db, fingerprint))!;
    else if (created.row.status === "pending") return { status: "pending", device: created.row, enrollmentSecret: created.secret };
    else device = created.row;
  }
  if (device.status === "revoked") throw new DomainError("forbidden", "device_revoked", "This device was revoked by an admin");
  const refused = (reason: EnrollmentRefusal): Enrollment => ({ status: "refused", device, reason });
  if (device.keyThumbprint !== null && device.keyThumbprint !== key) return refused("key_mismatch");
  const issueTo = (claim: Issue["claim"], how: string) => issue(store, signer, { device, fingerprint, lifetimeMs: input.lifetimeMs, key, claim, how }, actor, now);

  switch (grant.kind) {
    case "open":
      if (device.status === "pending") return waiting(store, device, now);
      // A fingerprint anyone may know would otherwise hand the device to a stranger's key for good:
      // a key binds a device that holds tokens only through them (a device grant), or after a reset.
      if (key !== null && device.keyThumbprint === null && (await holdsLiveToken(db, device.id, now))) return refused("unproven_binding");
      return issueTo(async () => true, "open enrollment");
    case "user":
      if (device.status === "pending") return waiting(store, device, now);
      if (await holdsLiveToken(db, device.id, now)) return refused("already_enrolled");
      return issueTo(async () => true, "enrolled with a user token");
    case "device":
      // Consuming the presented token in the same transaction makes it renew once, even when raced.
      return issueTo(
        async (tx) => {
          const { deviceTokens } = tablesOf(tx);
          return (await tx.update(deviceTokens).set({ revokedAt: now }).where(and(eq(deviceTokens.id, grant.tokenId), eq(deviceTokens.deviceId, device.id), liveAt(now, deviceTokens))).returning({ id: deviceTokens.id })).length > 0;
        },
        "renewed with its main token",
      );
    case "secret": {
      if (device.status === "pending") return device.enrollmentSecretHash === null ? handOutSecret(store, device, key, now) : waiting(store, device, now);
      const hash = device.enrollmentSecretHash;
      if (hash === null) return refused("already_enrolled");
      if (grant.secret === null) return refused("secret_required");
      if (!constantTimeEqual(sha256Hex(grant.secret), hash)) return refused("invalid_secret");
      return issueTo(
        async (tx) => {
          const { devices } = tablesOf(tx);
          return (await tx.update(devices).set({ enrollmentSecretHash: null }).where(and(eq(devices.id, device.id), eq(devices.enrollmentSecretHash, hash))).returning({ id: devices.id })).length > 0;
        },
        "collected with its enrollment secret",
      );
    }
  }
}

/** The device and its audit row in one write: neither without the other. */
async function create(store: Store, fingerprint: string, pending: boolean, key: string | null, actor: Actor, now: Date) {
  const secret = pending ? newEnrollmentSecret() : null;
  return store.write(async (tx) => {
    const { devices } = tablesOf(tx);
    const [row] = await tx
      .insert(devices)
      .values({ id: `dev_${randomBase62(16)}`, fingerprint, status: pending ? "pending" : "active", enrollmentSecretHash: secret && sha256Hex(secret), keyThumbprint: key, firstSeen: now, lastSeen: now })
      .onConflictDoNothing()
      .returning();
    if (!row) return undefined;
    await recordAudit(tx, { action: pending ? "device.pending" : "device.enrolled", actor: actor.name, user: row.id, ip: actor.ip }, now);
    return { row, secret };
  });
}

/** A pending device asking again: no new secret, so a stranger cannot replace the device's. */
async function waiting(store: Store, device: DeviceRow, now: Date): Promise<Enrollment> {
  await store.write(async (tx) => {
    const { devices } = tablesOf(tx);
    await tx.update(devices).set({ lastSeen: now }).where(eq(devices.id, device.id));
  });
  return { status: "pending", device, enrollmentSecret: null };
}

/**
 * A pending device that holds no secret (it was reset, or enrolled before secrets existed) gets one,
 * bound to the key this request proved, if any: the secret is collected only with that key.
 */
async function handOutSecret(store: Store, device: DeviceRow, key: string | null, now: Date): Promise<Enrollment> {
  const secret = newEnrollmentSecret();
  const set = await store.write((tx) => {
    const { devices } = tablesOf(tx);
    return tx
      .update(devices)
      .set({ enrollmentSecretHash: sha256Hex(secret), keyThumbprint: key, lastSeen: now })
      .where(and(eq(devices.id, device.id), isNull(devices.enrollmentSecretHash)))
      .returning({ id: devices.id });
  });
  return { status: "pending", device, enrollmentSecret: set.length > 0 ? secret : null };
}

async function holdsLiveToken(db: Db, deviceId: string, now: Date): Promise<boolean> {
  const { deviceTokens } = tablesOf(db);
  const [live] = await db.select({ id: deviceTokens.id }).from(deviceTokens).where(and(eq(deviceTokens.deviceId, deviceId), liveAt(now, deviceTokens))).limit(1);
  return live !== undefined;
}

interface Issue {
  device: DeviceRow;
  fingerprint: string;
  lifetimeMs: number;
  key: string | null;
  /** Takes what entitles this request (a token, a secret) inside the write; false if another request took it first. */
  claim: (tx: Transaction) => Promise<boolean>;
  how: string;
}

async function issue(store: Store, signer: DeviceSigner, { device, fingerprint, lifetimeMs, key, claim, how }: Issue, actor: Actor, now: Date): Promise<Enrollment> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  // A device bound to a key stays bound to it (enroll refused any other); an unbound one is bound to the key proven now, if any.
  const keyThumbprint = key ?? device.keyThumbprint;
  const claims = { deviceId: device.id, tokenId: `dtk_${randomBase62(16)}`, fingerprint, issuedAt, expiresAt: issuedAt + Math.max(1, Math.round(lifetimeMs / 1000)), keyThumbprint };
  const mainToken = await signer.sign(claims);
  const shortToken = signer.shortTokenOf(mainToken);
  const expiresAt = new Date(claims.expiresAt * 1000);
  const claimed = await store.write(async (tx) => {
    const { devices, deviceTokens } = tablesOf(tx);
    // The device as read: another enrollment may have bound it to a key since (or an admin revoked it), and then these tokens are not to be.
    const [current] = await tx.select({ key: devices.keyThumbprint, status: devices.status }).from(devices).where(eq(devices.id, device.id));
    if (current === undefined || current.key !== device.keyThumbprint || current.status === "revoked") return false;
    if (!(await claim(tx))) return false;
    await tx.update(devices).set({ lastSeen: now, keyThumbprint }).where(eq(devices.id, device.id));
    // The earlier tokens stop working now, and their rows go: re-enrolling replaces, never accumulates.
    await tx.delete(deviceTokens).where(and(eq(deviceTokens.deviceId, device.id), or(isNull(deviceTokens.revokedAt), lte(deviceTokens.revokedAt, now))));
    await tx
      .insert(deviceTokens)
      .values({ id: claims.tokenId, deviceId: device.id, mainHash: sha256Hex(mainToken), shortHash: sha256Hex(shortToken), issuedAt: new Date(issuedAt * 1000), expiresAt });
    await recordAudit(tx, { action: "device.token_issued", actor: actor.name, user: device.id, tokenId: claims.tokenId, ip: actor.ip, detail: how }, now);
    return true;
  });
  if (!claimed) return { status: "refused", device, reason: "stale_credential" };
  return { status: "issued", device: { ...device, keyThumbprint }, mainToken, shortToken, expiresAt };
}

/** Approves a pending device; it then collects its tokens with its enrollment secret. */
export async function approveDevice(store: Store, id: string, actor: Actor, now = new Date()): Promise<DeviceRow> {
  return store.write(async (tx) => {
    const { devices } = tablesOf(tx);
    const device = await getDevice(tx, id);
    if (device.status === "revoked") throw new DomainError("conflict", "device_revoked", "A revoked device cannot be approved");
    if (device.status === "active") return device;
    // Without a secret nobody could collect the tokens, or, were one handed out later, anybody could.
    if (device.enrollmentSecretHash === null) {
      throw new DomainError("conflict", "enrollment_not_requested", "This device holds no enrollment secret yet: approve it after it enrolls again");
    }
    const [approved] = await tx.update(devices).set({ status: "active" }).where(eq(devices.id, id)).returning();
    await recordAudit(tx, { action: "device.approved", actor: actor.name, user: id, ip: actor.ip }, now);
    return approved!;
  });
}

/**
 * An admin's way to let a device enroll again (it lost its token, or its token expired): its
 * tokens stop working and it is treated as new under the current policy, so under `approval` it
 * is pending again and its next enrollment is handed a new secret.
 */
export async function resetDevice(store: Store, id: string, policy: EnrollmentPolicy, actor: Actor, now = new Date()): Promise<DeviceRow> {
  return store.write(async (tx) => {
    const { devices, deviceTokens } = tablesOf(tx);
    if ((await getDevice(tx, id)).status === "revoked") throw new DomainError("conflict", "device_revoked", "A revoked device cannot be reset");
    await tx.update(deviceTokens).set({ revokedAt: now }).where(and(eq(deviceTokens.deviceId, id), isNull(deviceTokens.revokedAt)));
    const [reset] = await tx
      .update(devices)
      .set({ status: policy === "approval" ? "pending" : "active", enrollmentSecretHash: null, keyThumbprint: null })
      .where(eq(devices.id, id))
      .returning();
    await recordAudit(tx, { action: "device.reset", actor: actor.name, user: id, ip: actor.ip }, now);
    return reset!;
  });
}
