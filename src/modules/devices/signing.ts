import { createHmac } from "node:crypto";
import { eq } from "drizzle-orm";
import { errors, jwtVerify, SignJWT } from "jose";
import type { Config } from "../../config";
import { tablesOf, type Store } from "../../db/client";

export interface DeviceClaims {
  deviceId: string;
  tokenId: string;
  fingerprint: string;
  /** Seconds since the epoch, as in the JWT. */
  issuedAt: number;
  expiresAt: number;
}

export type JwtCheck = { ok: true; claims: DeviceClaims } | { ok: false; reason: "expired" | "invalid" };

const SETTING = "device_signing_key";

/**
 * The device signing key: SECRET_KEY when set, else one made at first start and kept in the
 * database so that restarts keep device tokens valid. It is never printed.
 */
export async function loadSigningSecret(store: Pick<Store, "write">, configured: string | null): Promise<Uint8Array> {
  if (configured !== null) return new TextEncoder().encode(configured);
  const fresh = Buffer.from(crypto.getRandomValues(new Uint8Array(64))).toString("base64");
  // Insert-or-keep, then read, in one write: two processes starting at once agree on one key.
  const stored = await store.write(async (tx) => {
    const { settings } = tablesOf(tx);
    await tx.insert(settings).values({ key: SETTING, value: fresh, updatedAt: new Date() }).onConflictDoNothing();
    const [row] = await tx.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTING));
    return row!.value;
  });
  return new Uint8Array(Buffer.from(stored, "base64"));
}

/**
 * Signs and checks device main tokens (JWT, HMAC with one pinned algorithm) and derives their
 * 32-character short tokens with a second key, so a short token cannot be made from a fingerprint,
 * nor from a main token, without the server's secret.
 */
export class DeviceSigner {
  private readonly shortKey: Buffer;

  constructor(
    private readonly secret: Uint8Array,
    readonly algorithm: Config["algorithm"],
  ) {
    this.shortKey = createHmac("sha256", secret).update("keyward short token key").digest();
  }

  /** HMAC-SHA256 JWTs are deterministic: the same claims always sign to the same token. */
  sign(claims: DeviceClaims): Promise<string> {
    return new SignJWT({ hardware_fingerprint: claims.fingerprint })
      .setProtectedHeader({ alg: this.algorithm, typ: "JWT" })
      .setSubject(claims.deviceId)
      .setJti(claims.tokenId)
      .setIssuedAt(claims.issuedAt)
      .setExpirationTime(claims.expiresAt)
      .sign(this.secret);
  }

  shortTokenOf(mainToken: string): string {
    return createHmac("sha256", this.shortKey).update(mainToken).digest().subarray(0, 24).toString("base64url");
  }

  /** Refuses `alg: none`, any other algorithm, another key, a tampered payload and an expired `exp`. */
  async verify(token: string): Promise<JwtCheck> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: [this.algorithm], requiredClaims: ["sub", "jti", "iat", "exp"] });
      const fingerprint = payload.hardware_fingerprint;
      if (typeof fingerprint !== "string") return { ok: false, reason: "invalid" };
      return {
        ok: true,
        claims: { deviceId: payload.sub!, tokenId: payload.jti!, fingerprint, issuedAt: payload.iat!, expiresAt: payload.exp! },
      };
    } catch (error) {
      return { ok: false, reason: error instanceof errors.JWTExpired ? "expired" : "invalid" };
    }
  }
}

/** The shape of a JWT: three base64url parts. Cheap to test before any crypto. */
export const looksLikeJwt = (text: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text) && text.length <= 4096;

/** The shape of a short token. */
export const looksLikeShortToken = (text: string) => /^[A-Za-z0-9_-]{32}$/.test(text);
