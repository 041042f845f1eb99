import { and, eq, isNull } from "drizzle-orm";
import { writeTransaction, type Db, type Store } from "../../db/client";
import { Keyset, type Page, type PageRequest } from "../../db/pagination";
import { devices, deviceTokens } from "../../db/schema";
import { WriteBehind } from "../../db/write-behind";
import { constantTimeEqual, randomBase62, sha256Hex } from "../../lib/crypto";
import { DomainError } from "../../lib/errors";
import type { Logger } from "../../log";
import { recordAudit } from "../audit/service";
import type { Actor } from "../tokens/service";
import { looksLikeShortToken, type DeviceSigner } from "./signing";

export type DeviceRow = typeof devices.$inferSelect;
export type DeviceTokenRow = typeof deviceTokens.$inferSelect;
export type EnrollmentPolicy = "open" | "token" | "approval";

export type Enrollment =
  | { status: "issued"; device: DeviceRow; mainToken: string; shortToken: string; expiresAt: Date }
  | { status: "pending"; device: DeviceRow };

export function checkFingerprint(text: string): string {
  const fingerprint = text.trim();
  if (fingerprint.length === 0 || fingerprint.length > 512 || /\p{Cc}/u.test(fingerprint)) {
    throw new DomainError("invalid", "invalid_fingerprint", "A hardware fingerprint is 1 to 512 printable characters");
  }
  return fingerprint;
}

function findByFingerprint(db: Db, fingerprint: string): DeviceRow | undefined {
  return db.select().from(devices).where(eq(devices.fingerprint, fingerprint)).get();
}

/**
 * Enrolls a fingerprint. A new device is active, or pending under the approval policy; a pending
 * device gets no token until an admin approves it, and then collects its tokens by enrolling
 * again. Enrolling an active device again issues a new main token and retires the earlier ones:
 * a device has one live credential.
 */
export async function enroll(
  db: Db,
  signer: DeviceSigner,
  input: { fingerprint: string; policy: EnrollmentPolicy; lifetimeMs: number },
  actor: Actor,
  now = new Date(),
): Promise<Enrollment> {
  const fingerprint = checkFingerprint(input.fingerprint);
  let device = findByFingerprint(db, fingerprint);
  if (!device) {
    const status = input.policy === "approval" ? "pending" : "active";
    device = db
      .insert(devices)
      .values({ id: `dev_${randomBase62(16)}`, fingerprint, status, firstSeen: now, lastSeen: now })
      .onConflictDoNothing()
      .returning()
      .get() ?? findByFingerprint(db, fingerprint)!;
    recordAudit(db, { action: status === "pending" ? "device.pending" : "device.enrolled", actor: actor.name, user: device.id, ip: actor.ip }, now);
  }
  if (device.status === "revoked") throw new DomainError("forbidden", "device_revoked", "This device was revoked by an admin");
  if (device.status === "pending") {
    db.update(devices).set({ lastSeen: now }).where(eq(devices.id, device.id)).run();
    return { status: "pending", device };
  }

  const issuedAt = Math.floor(now.getTime() / 1000);
  const claims = {
    deviceId: device.id,
    tokenId: `dtk_${randomBase62(16)}`,
    fingerprint,
    issuedAt,
    expiresAt: issuedAt + Math.max(1, Math.round(input.lifetimeMs / 1000)),
  };
  const mainToken = await signer.sign(claims);
  const shortToken = signer.shortTokenOf(mainToken);
  const expiresAt = new Date(claims.expiresAt * 1000);
  writeTransaction(db, (tx) => {
    tx.update(deviceTokens).set({ revokedAt: now }).where(and(eq(deviceTokens.deviceId, device.id), isNull(deviceTokens.revokedAt))).run();
    tx.insert(deviceTokens)
      .values({ id: claims.tokenId, deviceId: device.id, mainHash: sha256Hex(mainToken), shortHash: sha256Hex(shortToken), issuedAt: new Date(issuedAt * 1000), expiresAt })
      .run();
    tx.update(devices).set({ lastSeen: now }).where(eq(devices.id, device.id)).run();
    recordAudit(tx, { action: "device.token_issued", actor: actor.name, user: device.id, tokenId: claims.tokenId, ip: actor.ip }, now);
  });
  return { status: "issued", device, mainToken, shortToken, expiresAt };
}

export type DeviceCheck =
  | { ok: true; device: DeviceRow; token: DeviceTokenRow }
  | { ok: false; reason: "invalid" | "expired" | "fingerprint_mismatch"; deviceId?: string; tokenId?: string };

function tokenWithDevice(db: Db, where: ReturnType<typeof eq>) {
  return db.select({ token: deviceTokens, device: devices }).from(deviceTokens).innerJoin(devices, eq(devices.id, deviceTokens.deviceId)).where(where).get();
}

/** A token row that may still be used: not revoked, and its device active. */
function usable(found: { token: DeviceTokenRow; device: DeviceRow } | undefined, now: Date) {
  return found && found.device.status === "active" && (found.token.revokedAt === null || found.token.revokedAt > now) ? found : undefined;
}

const sameFingerprint = (a: string, b: string) => constantTimeEqual(sha256Hex(a), sha256Hex(b));

/**
 * Seed 003's check of a short token: find its record, rebuild the main token from the stored
 * claims (HMAC signatures are deterministic) and confirm both hashes match, so a short token
 * that no longer derives from its main token (another key, a tampered row) is refused; then the
 * expiry; then the fingerprint bound in the main token.
 */
export async function verifyShortToken(db: Db, signer: DeviceSigner, shortToken: string, fingerprint: string | null, now = new Date()): Promise<DeviceCheck> {
  if (!looksLikeShortToken(shortToken)) return { ok: false, reason: "invalid" };
  const found = usable(tokenWithDevice(db, eq(deviceTokens.shortHash, sha256Hex(shortToken))), now);
  if (!found) return { ok: false, reason: "invalid" };
  const { token, device } = found;
  const who = { deviceId: device.id, tokenId: token.id };
  const main = await signer.sign({
    deviceId: device.id,
    tokenId: token.id,
    fingerprint: device.fingerprint,
    issuedAt: token.issuedAt.getTime() / 1000,
    expiresAt: token.expiresAt.getTime() / 1000,
  });
  if (sha256Hex(main) !== token.mainHash || !constantTimeEqual(signer.shortTokenOf(main), shortToken)) return { ok: false, reason: "invalid", ...who };
  if (token.expiresAt <= now) return { ok: false, reason: "expired", ...who };
  if (fingerprint !== null && !sameFingerprint(fingerprint, device.fingerprint)) return { ok: false, reason: "fingerprint_mismatch", ...who };
  return { ok: true, device, token };
}

/**
 * A main token presented as a Bearer credential, with the fingerprint the request claims
 * (null when a resource server introspects it on the device's behalf).
 */
export async function verifyMainToken(db: Db, signer: DeviceSigner, jwt: string, fingerprint: string | null, now = new Date()): Promise<DeviceCheck> {
  const check = await signer.verify(jwt);
  if (!check.ok) return { ok: false, reason: check.reason === "expired" ? "expired" : "invalid" };
  const found = usable(tokenWithDevice(db, eq(deviceTokens.id, check.claims.tokenId)), now);
  if (!found || found.token.mainHash !== sha256Hex(jwt) || found.device.id !== check.claims.deviceId) return { ok: false, reason: "invalid" };
  const who = { deviceId: found.device.id, tokenId: found.token.id };
  if (fingerprint !== null && !sameFingerprint(fingerprint, check.claims.fingerprint)) return { ok: false, reason: "fingerprint_mismatch", ...who };
  return { ok: true, ...found };
}

const keyset = new Keyset<DeviceRow>("devices", devices.firstSeen, devices.id, (row) => [row.firstSeen, row.id]);

/** One page of devices, newest first, optionally in one status. */
export function listDevices(db: Db, filter: PageRequest & { status?: DeviceRow["status"] } = {}): Page<DeviceRow> {
  const { after, order, fetch } = keyset.plan(filter);
  const where = and(after, filter.status ? eq(devices.status, filter.status) : undefined);
  return keyset.page(db.select().from(devices).where(where).orderBy(...order).limit(fetch).all(), filter);
}

export function getDevice(db: Db, id: string): DeviceRow {
  const device = db.select().from(devices).where(eq(devices.id, id)).get();
  if (!device) throw new DomainError("not_found", "device_not_found", `No device ${id.startsWith("dev_") ? id : "with that id"}`);
  return device;
}

export function approveDevice(db: Db, id: string, actor: Actor, now = new Date()): DeviceRow {
  return writeTransaction(db, (tx) => {
    const device = getDevice(tx, id);
    if (device.status === "revoked") throw new DomainError("conflict", "device_revoked", "A revoked device cannot be approved");
    if (device.status === "active") return device;
    const approved = tx.update(devices).set({ status: "active" }).where(eq(devices.id, id)).returning().get();
    recordAudit(tx, { action: "device.approved", actor: actor.name, user: id, ip: actor.ip }, now);
    return approved;
  });
}

/** Revokes the device and every token it holds. */
export function revokeDevice(db: Db, id: string, actor: Actor, now = new Date()): DeviceRow {
  return writeTransaction(db, (tx) => {
    getDevice(tx, id);
    const revoked = tx.update(devices).set({ status: "revoked" }).where(eq(devices.id, id)).returning().get();
    tx.update(deviceTokens).set({ revokedAt: now }).where(and(eq(deviceTokens.deviceId, id), isNull(deviceTokens.revokedAt))).run();
    recordAudit(tx, { action: "device.revoked", actor: actor.name, user: id, ip: actor.ip }, now);
    return revoked;
  });
}

export function labelDevice(db: Db, id: string, label: string | null, actor: Actor, now = new Date()): DeviceRow {
  const text = label?.trim() || null;
  if (text !== null && (text.length > 100 || /\p{Cc}/u.test(text))) {
    throw new DomainError("invalid", "invalid_label", "A label is at most 100 printable characters");
  }
  return writeTransaction(db, (tx) => {
    getDevice(tx, id);
    const labelled = tx.update(devices).set({ label: text }).where(eq(devices.id, id)).returning().get();
    recordAudit(tx, { action: "device.labelled", actor: actor.name, user: id, ip: actor.ip, detail: text }, now);
    return labelled;
  });
}

/** Devices that verify, so this many distinct ones in a second is far past a LAN's. */
const SIGHTINGS_CAPACITY = 100_000;
const UNNAMED = "";

/** Records when devices were last seen, in memory, written with the other batched counters. */
export class DeviceSightings {
  private readonly buffer;

  constructor(store: Pick<Store, "db" | "changes">, log: Logger, capacity = SIGHTINGS_CAPACITY) {
    this.buffer = new WriteBehind<number>(store, {
      capacity,
      merge: Math.max,
      overflow: (_, at) => [UNNAMED, at],
      write(tx, batch) {
        for (const [id, at] of batch) {
          if (id === UNNAMED) log.warn("more devices were seen at once than the sightings buffer holds: some last-seen times were not updated");
          else tx.update(devices).set({ lastSeen: new Date(at) }).where(eq(devices.id, id)).run();
        }
      },
    });
  }

  seen(deviceId: string, at = Date.now()): void {
    this.buffer.add(deviceId, at);
  }

  flush(): void {
    this.buffer.flush();
  }
}
