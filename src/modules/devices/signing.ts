import { createHmac } from "node:crypto";
import { eq } from "drizzle-orm";
import { errors, jwtVerify, SignJWT } from "jose";
import { ConfigError, type Config } from "../../config";
import { tablesOf, type Store } from "../../db/client";
import { isSealed, open, seal, SealedValueError, settingsKey, type SettingsKey } from "../../lib/sealed";

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

export interface SigningSecretOptions {
  /** Several instances share the database (PostgreSQL): the key lives there, sealed with SECRET_KEY. */
  shared: boolean;
}

/**
 * The device signing key; it is never printed. On a database of its own: SECRET_KEY when set, else
 * one made at first start and kept in the database so that restarts keep device tokens valid. On a
 * shared one: made by the first instance to start and kept sealed with SECRET_KEY, so all sign alike.
 * A key it cannot use refuses the start (ConfigError) rather than invalidate every device token.
 */
export async function loadSigningSecret(store: Pick<Store, "write">, secretKey: string | null, { shared }: SigningSecretOptions): Promise<Uint8Array> {
  if (shared) return sharedSigningSecret(store, secretKey);
  // Insert-or-keep, then read, in one write: two processes starting at once agree on one key.
  // With SECRET_KEY set nothing is made: a row, if any, is read only in case it is sealed.
  const stored = await store.write(async (tx) => {
    const { settings } = tablesOf(tx);
    if (secretKey === null) await tx.insert(settings).values({ key: SETTING, value: randomSecret(), updatedAt: new Date() }).onConflictDoNothing();
    const [row] = await tx.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTING));
    return row?.value ?? null;
  });
  // A sealed row came from a shared database (a restored backup): its key signed the tokens out there.
  if (stored !== null && isSealed(stored)) {
    if (secretKey === null) {
      throw new ConfigError("the device signing key in the database is sealed with SECRET_KEY (the database came from PostgreSQL): set the SECRET_KEY it was sealed with");
    }
    return opened(settingsKey(secretKey), stored, "SECRET_KEY cannot open the device signing key in the database: set the SECRET_KEY of the PostgreSQL database it came from");
  }
  // A plaintext row beside SECRET_KEY is left unused, as before: SECRET_KEY signed the tokens out there.
  if (secretKey !== null) return new TextEncoder().encode(secretKey);
  return decoded(stored!);
}

async function sharedSigningSecret(store: Pick<Store, "write">, secretKey: string | null): Promise<Uint8Array> {
  if (secretKey === null) throw new ConfigError("SECRET_KEY is required with a shared database: it seals the device signing key every instance reads from it");
  const key = settingsKey(secretKey);
  const fresh = seal(key, SETTING, randomSecret());
  // Insert-or-keep, then read, in one write: instances starting at once agree on one key. A plaintext
  // row (a restored SQLite database run without SECRET_KEY) is sealed in place, and its tokens stay valid.
  // Sealing guards a database that is read (a leaked backup); whoever can write this row can write token hashes too.
  const stored = await store.write(async (tx) => {
    const { settings } = tablesOf(tx);
    await tx.insert(settings).values({ key: SETTING, value: fresh, updatedAt: new Date() }).onConflictDoNothing();
    const [row] = await tx.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTING));
    if (isSealed(row!.value)) return row!.value;
    const sealed = seal(key, SETTING, row!.value);
    await tx.update(settings).set({ value: sealed, updatedAt: new Date() }).where(eq(settings.key, SETTING));
    return sealed;
  });
  return opened(key, stored, "SECRET_KEY differs from the one the other instances of this database use: it cannot open their device signing key; give every instance the same SECRET_KEY");
}

/** A wrong SECRET_KEY gets `wrongKey`; a damaged or newer value, what is wrong with it. */
function opened(key: SettingsKey, stored: string, wrongKey: string): Uint8Array {
  try {
    return decoded(open(key, SETTING, stored));
  } catch (error) {
    if (!(error instanceof SealedValueError)) throw error;
    throw new ConfigError(error.reason === "refused" ? wrongKey : error.message, { cause: error });
  }
}

const randomSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(64))).toString("base64");
const decoded = (value: string) => new Uint8Array(Buffer.from(value, "base64"));

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
