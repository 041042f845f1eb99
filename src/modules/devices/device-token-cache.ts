import { ChangeBoundCache } from "../../db/change-bound-cache";
import type { Store } from "../../db/client";
import { whyNotLive, type Lifespan } from "../tokens/liveness";
import { sameFingerprint, verifyMainToken, verifyShortToken, type DeviceCheck } from "./service";
import type { DeviceSigner } from "./signing";

type Verified = Extract<DeviceCheck, { ok: true }>;
/** A check that passed, with the token's lifespan in milliseconds kept ready for every later call. */
type Remembered = { verified: Verified; lifespan: Lifespan<number> };

/**
 * A device's tokens are checked by signature (a main token's by jose, a short token's by
 * re-signing its main token), asynchronously and at most of a check's cost. A token that passed
 * (only such a token: a stranger's text is never kept) is remembered until the database changes
 * (at once for this process's writes, within a second for another's: see ChangeMonitor), so later
 * checks answer at once. Liveness and the fingerprint, when the request sends one, are checked on
 * every call, cached or not.
 */
export class DeviceTokenChecker {
  // One cache per kind of token, each keyed by the token itself: a text passed as a short token is
  // never found among main tokens. A digest as the key would cost a SHA-256 per check (3% of the
  // short-token check's throughput) and hide nothing from whoever can read this process's memory,
  // which holds the signing secret; a prefix ("short …") would make a new string to hash on every
  // check. The capacity bounds what each holds.
  private readonly mains;
  private readonly shorts;
  private readonly db;

  constructor(
    store: Pick<Store, "db" | "changes">,
    private readonly signer: DeviceSigner,
    capacity = 10_000,
  ) {
    this.db = store.db;
    this.mains = new ChangeBoundCache<Remembered>(store.changes, capacity);
    this.shorts = new ChangeBoundCache<Remembered>(store.changes, capacity);
  }

  /** A main token (a JWT) with the fingerprint the request claims, null when it claims none. */
  main(jwt: string, fingerprint: string | null, now = Date.now()): DeviceCheck | Promise<DeviceCheck> {
    return check(this.mains, jwt, fingerprint, now, () => verifyMainToken(this.db, this.signer, jwt, null, new Date(now)));
  }

  /** A short token with the fingerprint it must be bound to, null when the request sent none. */
  short(shortToken: string, fingerprint: string | null, now = Date.now()): DeviceCheck | Promise<DeviceCheck> {
    return check(this.shorts, shortToken, fingerprint, now, () => verifyShortToken(this.db, this.signer, shortToken, null, new Date(now)));
  }
}

/** `verify` is the full check without the fingerprint. */
function check(cache: ChangeBoundCache<Remembered>, token: string, fingerprint: string | null, now: number, verify: () => Promise<DeviceCheck>): DeviceCheck | Promise<DeviceCheck> {
  const remembered = cache.get(token, now);
  if (remembered) return judge(remembered, fingerprint, now);
  return load(cache, token, verify, now).then((loaded) => ("verified" in loaded ? judge(loaded, fingerprint, now) : loaded));
}

/**
 * A full check without the fingerprint, which is compared last: a refusal is the full check's
 * answer as it is (checked once, not again with the fingerprint). A pass is cached unless the
 * database changed meanwhile.
 */
async function load(cache: ChangeBoundCache<Remembered>, token: string, verify: () => Promise<DeviceCheck>, now: number): Promise<Remembered | Exclude<DeviceCheck, Verified>> {
  const readUnder = cache.current(now);
  const check = await verify();
  if (!check.ok) return check;
  const { revokedAt, expiresAt } = check.token;
  const remembered = {
    verified: check,
    lifespan: { revokedAt: revokedAt?.getTime() ?? null, expiresAt: expiresAt.getTime() },
  };
  // The check awaits a signature: a revocation meanwhile must not be outlived by this entry.
  cache.set(token, remembered, readUnder, now);
  return remembered;
}

/** What the full check would answer for a token that passed it. */
function judge({ verified, lifespan }: Remembered, fingerprint: string | null, now: number): DeviceCheck {
  const who = () => ({ deviceId: verified.device.id, tokenId: verified.token.id });
  const ended = whyNotLive(lifespan, now);
  // As the full check answers: a revoked token is no longer known, an expired one is expired.
  if (ended) return { ok: false, reason: ended === "expired" ? "expired" : "unknown", ...who() };
  if (fingerprint !== null && !sameFingerprint(fingerprint, verified.device.fingerprint)) return { ok: false, reason: "fingerprint_mismatch", ...who() };
  return verified;
}
