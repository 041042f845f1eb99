import { createHmac } from "node:crypto";
import { eq } from "drizzle-orm";
import { errors, jwtVerify, SignJWT } from "jose";
import { ConfigError, type Config } from "../../config";
import { type Db, tablesOf, type Store, type Transaction } from "../../db/client";
import { isSealed, open, seal, SealedValueError, settingsKey, type SettingsKey } from "../../lib/sealed";

export interface DeviceClaims {
  deviceId: string;
  tokenId: string;
  fingerprint: string;
  /** Seconds since the epoch, as in the JWT. */
  issuedAt: number;
  expiresAt: number;
  /** The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6.1), or null. */
  keyThumbprint: string | null;
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
  if (secretKey !== null) return secretKeyBytes(secretKey);
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

/**
 * After a restore into a shared database, in its transaction: the device signing key as every
 * instance will read it, sealed. A SQLite install run with SECRET_KEY has no row (SECRET_KEY itself
 * signed its device tokens): its bytes become the key, so those tokens keep verifying. A plaintext
 * row is sealed; a sealed one must open with this SECRET_KEY, or the restore is undone.
 */
export async function settleRestoredSigningKey(tx: Transaction, secretKey: string): Promise<void> {
  const key = settingsKey(secretKey);
  const { settings } = tablesOf(tx);
  const [row] = await tx.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTING));
  if (row !== undefined && isSealed(row.value)) {
    opened(key, row.value, "SECRET_KEY cannot open the backup's device signing key: restore with the SECRET_KEY of the database it came from (and give every instance that one)");
    return;
  }
  const value = seal(key, SETTING, row?.value ?? Buffer.from(secretKeyBytes(secretKey)).toString("base64"));
  await tx.insert(settings).values({ key: SETTING, value, updatedAt: new Date() }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
}

/**
 * The shared database's device signing key as text (never to be printed), or null if it has none or
 * SECRET_KEY cannot open it: running instances keep the key they read at start, so a restore that
 * changes it needs them restarted.
 */
export async function sharedSigningKey(db: Db, secretKey: string): Promise<string | null> {
  const { settings } = tablesOf(db);
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTING));
  if (row === undefined || !isSealed(row.value)) return row?.value ?? null;
  try {
    return open(settingsKey(secretKey), SETTING, row.value);
  } catch {
    return null;
  }
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

/** SECRET_KEY as the signing key it is on SQLite: its UTF-8 bytes. A row holds a key as base64 of its bytes. */
const secretKeyBytes = (secretKey: string) => new TextEncoder().encode(secretKey);
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
    const binding = claims.keyThumbprint === null ? {} : { cnf: { jkt: claims.keyThumbprint } };
    return new SignJWT({ hardware_fingerprint: claims.fingerprint, ...binding })
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
      const cnf = payload.cnf as { jkt?: unknown } | undefined;
      if (typeof fingerprint !== "string" || (cnf !== undefined && typeof cnf?.jkt !== "string")) return { ok: false, reason: "invalid" };
      return {
        ok: true,
        claims: { deviceId: payload.sub!, tokenId: payload.jti!, fingerprint, issuedAt: payload.iat!, expiresAt: payload.exp!, keyThumbprint: (cnf?.jkt as string | undefined) ?? null },
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
