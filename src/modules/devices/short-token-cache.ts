import type { Store } from "../../db/client";
import { timingSafeEqual } from "node:crypto";
import { sha256Hex } from "../../lib/crypto";
import { whyNotLive, type Lifespan } from "../tokens/liveness";
import { verifyShortToken, type DeviceCheck } from "./service";
import type { DeviceSigner } from "./signing";

type Verified = Extract<DeviceCheck, { ok: true }>;
/**
 * A check that passed, with what every later call compares kept ready: the device's fingerprint
 * as a SHA-256 digest, the token's lifespan in milliseconds.
 */
type Remembered = { verified: Verified; fingerprintDigest: Uint8Array; lifespan: Lifespan<number> };

const digest = (text: string) => Bun.SHA256.hash(text) as Uint8Array;

/**
 * The device-token check rebuilds and re-signs the main token each time, which is most of its cost. A
 * short token that passed is remembered by hash until the database changes (at once for this
 * process's writes, within a second for another's: see ChangeMonitor). Liveness and the
 * fingerprint are checked on every call, cached or not.
 */
export class ShortTokenChecker {
  private readonly cache = new Map<string, Remembered>();
  private generation: number;
  private readonly db;
  private readonly changes;

  constructor(
    store: Pick<Store, "db" | "changes">,
    private readonly signer: DeviceSigner,
    private readonly capacity = 10_000,
  ) {
    this.db = store.db;
    this.changes = store.changes;
    this.generation = store.changes.current();
  }

  /** Answered at once from the cache; only a short token not seen since the last change waits for its signature. */
  check(shortToken: string, fingerprint: string, now = Date.now()): DeviceCheck | Promise<DeviceCheck> {
    const generation = this.changes.current(now);
    if (generation !== this.generation) {
      this.cache.clear();
      this.generation = generation;
    }
    const key = sha256Hex(shortToken);
    const remembered = this.cache.get(key);
    if (remembered) return this.judge(remembered, fingerprint, now);
    return this.load(key, shortToken, now).then((loaded) =>
      loaded ? this.judge(loaded, fingerprint, now) : verifyShortToken(this.db, this.signer, shortToken, fingerprint, new Date(now)),
    );
  }

  /** What the full check would answer for a token that passed it: liveness and the fingerprint are checked on every call. */
  private judge({ verified, fingerprintDigest, lifespan }: Remembered, fingerprint: string, now: number): DeviceCheck {
    const who = () => ({ deviceId: verified.device.id, tokenId: verified.token.id });
    const ended = whyNotLive(lifespan, now);
    // As the full check answers: a revoked token is no longer known, an expired one is expired.
    if (ended) return { ok: false, reason: ended === "expired" ? "expired" : "unknown", ...who() };
    if (!timingSafeEqual(digest(fingerprint), fingerprintDigest)) return { ok: false, reason: "fingerprint_mismatch", ...who() };
    return verified;
  }

  /** A full check without the fingerprint; a pass is cached unless the database changed meanwhile. */
  private async load(key: string, shortToken: string, now: number): Promise<Remembered | null> {
    const generation = this.generation;
    const check = await verifyShortToken(this.db, this.signer, shortToken, null, new Date(now));
    if (!check.ok) return null;
    const { revokedAt, expiresAt } = check.token;
    const remembered = {
      verified: check,
      fingerprintDigest: digest(check.device.fingerprint),
      lifespan: { revokedAt: revokedAt?.getTime() ?? null, expiresAt: expiresAt.getTime() },
    };
    // The check awaits a signature: a revocation meanwhile must not be outlived by this entry.
    if (this.changes.current(now) === generation) {
      if (this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, remembered);
    }
    return remembered;
  }
}
