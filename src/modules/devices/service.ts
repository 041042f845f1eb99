import { and, eq, isNull } from "drizzle-orm";
import { tablesOf, type Db, type Store } from "../../db/client";
import { Keyset, type Page, type PageRequest } from "../../db/pagination";
import { storable } from "../../db/storable";
import type { devices, deviceTokens } from "../../db/schema";
import { WriteBehind } from "../../db/write-behind";
import { constantTimeEqual, sha256Hex } from "../../lib/crypto";
import { DomainError } from "../../lib/errors";
import type { Logger } from "../../log";
import type { ReasonOf } from "../auth/model";
import { recordAudit } from "../audit/service";
import { whyNotLive } from "../tokens/liveness";
import type { Actor } from "../tokens/service";
import { looksLikeShortToken, type DeviceSigner } from "./signing";

export type DeviceRow = typeof devices.$inferSelect;
export type DeviceTokenRow = typeof deviceTokens.$inferSelect;

export function checkFingerprint(text: string): string {
  const fingerprint = text.trim();
  if (fingerprint.length === 0 || fingerprint.length > 512 || /\p{Cc}/u.test(fingerprint)) {
    throw new DomainError("invalid", "invalid_fingerprint", "A hardware fingerprint is 1 to 512 printable characters");
  }
  return fingerprint;
}

export type DeviceCheck =
  | { ok: true; device: DeviceRow; token: DeviceTokenRow }
  | { ok: false; reason: ReasonOf<"unknown" | "expired" | "fingerprint_mismatch">; deviceId?: string; tokenId?: string };

/** The device token whose `column` holds `value`, with its device. */
async function tokenWithDevice(db: Db, column: "id" | "shortHash", value: string) {
  const { devices, deviceTokens } = tablesOf(db);
  const [found] = await db.select({ token: deviceTokens, device: devices }).from(deviceTokens).innerJoin(devices, eq(devices.id, deviceTokens.deviceId)).where(eq(deviceTokens[column], value));
  return found;
}

/** A token row that may still be used: not revoked, and its device active; expiry is a reason of its own. */
function usable(found: { token: DeviceTokenRow; device: DeviceRow } | undefined, now: Date) {
  return found && found.device.status === "active" && whyNotLive(found.token, now) !== "revoked" ? found : undefined;
}

/**
 * Whether a request's fingerprint is the one a device token is bound to. Asked only once the token
 * itself passed, so only by its holder, from whom the fingerprint is no secret: the main token
 * carries it in clear and verify answers it for the short token alone. A comparison in constant
 * time would hide nothing (and cost a hash of each on every check).
 */
export const sameFingerprint = (presented: string, bound: string) => presented === bound;

/**
 * The device-token flow's check of a short token: find its record, rebuild the main token from the stored
 * claims (HMAC signatures are deterministic) and confirm both hashes match, so a short token
 * that no longer derives from its main token (another key, a tampered row) is refused; then the
 * expiry; then the fingerprint bound in the main token.
 */
export async function verifyShortToken(db: Db, signer: DeviceSigner, shortToken: string, fingerprint: string | null, now = new Date()): Promise<DeviceCheck> {
  if (!looksLikeShortToken(shortToken)) return { ok: false, reason: "unknown" };
  const found = usable(await tokenWithDevice(db, "shortHash", sha256Hex(shortToken)), now);
  if (!found) return { ok: false, reason: "unknown" };
  const { token, device } = found;
  const who = { deviceId: device.id, tokenId: token.id };
  const main = await signer.sign({
    deviceId: device.id,
    tokenId: token.id,
    fingerprint: device.fingerprint,
    issuedAt: token.issuedAt.getTime() / 1000,
    expiresAt: token.expiresAt.getTime() / 1000,
    keyThumbprint: device.keyThumbprint,
  });
  if (sha256Hex(main) !== token.mainHash || !constantTimeEqual(signer.shortTokenOf(main), shortToken)) return { ok: false, reason: "unknown", ...who };
  if (whyNotLive(token, now) === "expired") return { ok: false, reason: "expired", ...who };
  if (fingerprint !== null && !sameFingerprint(fingerprint, device.fingerprint)) return { ok: false, reason: "fingerprint_mismatch", ...who };
  return { ok: true, device, token };
}

/**
 * A main token presented as a Bearer credential, with the fingerprint the request claims
 * (null when a resource server introspects it on the device's behalf).
 */
export async function verifyMainToken(db: Db, signer: DeviceSigner, jwt: string, fingerprint: string | null, now = new Date()): Promise<DeviceCheck> {
  const check = await signer.verify(jwt);
  if (!check.ok) return { ok: false, reason: check.reason === "expired" ? "expired" : "unknown" };
  const found = usable(await tokenWithDevice(db, "id", check.claims.tokenId), now);
  // The stored hash pins the token, and with it its claims: `cnf` is compared too, as the one the device is bound to now.
  if (!found || found.token.mainHash !== sha256Hex(jwt) || found.device.id !== check.claims.deviceId || found.device.keyThumbprint !== check.claims.keyThumbprint) {
    return { ok: false, reason: "unknown" };
  }
  const who = { deviceId: found.device.id, tokenId: found.token.id };
  if (fingerprint !== null && !sameFingerprint(fingerprint, check.claims.fingerprint)) return { ok: false, reason: "fingerprint_mismatch", ...who };
  return { ok: true, ...found };
}

const keyset = new Keyset<DeviceRow>("devices", (row) => [row.firstSeen, row.id]);

/** One page of devices, newest first, optionally in one status. */
export async function listDevices(db: Db, filter: PageRequest & { status?: DeviceRow["status"] } = {}): Promise<Page<DeviceRow>> {
  const { devices } = tablesOf(db);
  const { after, order, fetch } = keyset.plan(filter, devices.firstSeen, devices.id);
  const where = and(after, filter.status ? eq(devices.status, filter.status) : undefined);
  return keyset.page(await db.select().from(devices).where(where).orderBy(...order).limit(fetch), filter);
}

export async function getDevice(db: Db, id: string): Promise<DeviceRow> {
  const { devices } = tablesOf(db);
  const [device] = storable(id) ? await db.select().from(devices).where(eq(devices.id, id)) : [];
  if (!device) throw new DomainError("not_found", "device_not_found", `No device ${id.startsWith("dev_") ? id : "with that id"}`);
  return device;
}

/** Revokes the device and every token it holds. */
export async function revokeDevice(store: Store, id: string, actor: Actor, now = new Date()): Promise<DeviceRow> {
  return store.write(async (tx) => {
    const { devices, deviceTokens } = tablesOf(tx);
    await getDevice(tx, id);
    const [revoked] = await tx.update(devices).set({ status: "revoked" }).where(eq(devices.id, id)).returning();
    await tx.update(deviceTokens).set({ revokedAt: now }).where(and(eq(deviceTokens.deviceId, id), isNull(deviceTokens.revokedAt)));
    await recordAudit(tx, { action: "device.revoked", actor: actor.name, user: id, ip: actor.ip }, now);
    return revoked!;
  });
}

export async function labelDevice(store: Store, id: string, label: string | null, actor: Actor, now = new Date()): Promise<DeviceRow> {
  const text = label?.trim() || null;
  if (text !== null && (text.length > 100 || /\p{Cc}/u.test(text))) {
    throw new DomainError("invalid", "invalid_label", "A label is at most 100 printable characters");
  }
  return store.write(async (tx) => {
    const { devices } = tablesOf(tx);
    await getDevice(tx, id);
    const [labelled] = await tx.update(devices).set({ label: text }).where(eq(devices.id, id)).returning();
    await recordAudit(tx, { action: "device.labelled", actor: actor.name, user: id, ip: actor.ip, detail: text }, now);
    return labelled!;
  });
}

/** Devices that verify, so this many distinct ones in a second is far past a LAN's. */
const SIGHTINGS_CAPACITY = 100_000;
const UNNAMED = "";

/** Records when devices were last seen, in memory, written with the other batched counters. */
export class DeviceSightings {
  private readonly buffer;

  constructor(store: Pick<Store, "bookkeeping">, log: Logger, capacity = SIGHTINGS_CAPACITY) {
    this.buffer = new WriteBehind<number>(store, {
      capacity,
      merge: Math.max,
      overflow: (_, at) => [UNNAMED, at],
      async write(tx, batch) {
        const { devices } = tablesOf(tx);
        for (const [id, at] of batch) {
          if (id === UNNAMED) log.warn("more devices were seen at once than the sightings buffer holds: some last-seen times were not updated");
          else await tx.update(devices).set({ lastSeen: new Date(at) }).where(eq(devices.id, id));
        }
      },
    });
  }

  seen(deviceId: string, at = Date.now()): void {
    this.buffer.add(deviceId, at);
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }
}
