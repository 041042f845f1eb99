import type { Db } from "../../db/client";
import { constantTimeEqual, sha256Hex } from "../../lib/crypto";
import { verifyShortToken, type DeviceCheck } from "./service";
import type { DeviceSigner } from "./signing";

type Verified = Extract<DeviceCheck, { ok: true }>;

/**
 * Seed 003's check rebuilds and re-signs the main token each time, which is most of its cost. A
 * short token that passed is remembered by hash for at most `ttlMs`, so a revocation made by
 * another process (the CLI) is seen within that time; this process's own device changes call
 * forgetAll. Expiry and the fingerprint are checked on every call, cached or not.
 */
export class ShortTokenChecker {
  private readonly cache = new Map<string, { verified: Verified; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly signer: DeviceSigner,
    private readonly ttlMs = 1000,
    private readonly capacity = 10_000,
  ) {}

  async check(shortToken: string, fingerprint: string, now = Date.now()): Promise<DeviceCheck> {
    const key = sha256Hex(shortToken);
    const hit = this.cache.get(key);
    const verified = hit && now - hit.at < this.ttlMs ? hit.verified : await this.load(key, shortToken, now);
    if (!verified) return verifyShortToken(this.db, this.signer, shortToken, fingerprint, new Date(now));
    const who = { deviceId: verified.device.id, tokenId: verified.token.id };
    if (verified.token.expiresAt.getTime() <= now) return { ok: false, reason: "expired", ...who };
    if (!constantTimeEqual(sha256Hex(fingerprint), sha256Hex(verified.device.fingerprint))) return { ok: false, reason: "fingerprint_mismatch", ...who };
    return verified;
  }

  forgetAll(): void {
    this.cache.clear();
  }

  /** A full check without the fingerprint; a pass is cached. */
  private async load(key: string, shortToken: string, now: number): Promise<Verified | null> {
    this.cache.delete(key);
    const check = await verifyShortToken(this.db, this.signer, shortToken, null, new Date(now));
    if (!check.ok) return null;
    if (this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { verified: check, at: now });
    return check;
  }
}
