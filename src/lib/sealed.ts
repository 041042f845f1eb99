import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from "node:crypto";

/**
 * Settings sealed with SECRET_KEY: `enc:v1:` + base64(iv | AES-256-GCM ciphertext | tag). The
 * setting's name is the additional data, so a sealed value copied under another name does not open.
 * Synchronous (node:crypto) on purpose: a SQLite write body may await only its own queries.
 */
const PREFIX = "enc:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The key that seals settings, derived from SECRET_KEY; a KeyObject, so it never prints as bytes. */
export type SettingsKey = { readonly object: KeyObject };

export type UnsealFailure = "malformed" | "newer_version" | "refused";

/** A sealed setting that cannot be opened; the message names the setting, never its value. */
export class SealedValueError extends Error {
  constructor(
    readonly reason: UnsealFailure,
    readonly setting: string,
    message: string,
  ) {
    super(`setting ${setting}: ${message}`);
  }
}

/** Derived once per start: HKDF-SHA256 over SECRET_KEY's bytes, for this one use. */
export function settingsKey(secretKey: string): SettingsKey {
  const bytes = hkdfSync("sha256", new TextEncoder().encode(secretKey), "keyward", "settings v1", 32);
  return { object: createSecretKey(new Uint8Array(bytes)) };
}

/** Whether a stored setting is sealed (in any version) rather than plaintext. */
export const isSealed = (stored: string) => stored.startsWith("enc:");

export function seal(key: SettingsKey, setting: string, value: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.object, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(setting));
  const body = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
}

/** The plaintext of a sealed setting; throws SealedValueError on a wrong key, a change, or another setting's value. */
export function open(key: SettingsKey, setting: string, stored: string): string {
  if (!stored.startsWith(PREFIX)) {
    const version = /^enc:(v\d{1,4}):/.exec(stored)?.[1];
    if (version !== undefined) throw new SealedValueError("newer_version", setting, `was sealed by a newer Keyward (${version}); this one reads v1`);
    throw new SealedValueError("malformed", setting, `is not a sealed value (${PREFIX}…)`);
  }
  const text = stored.slice(PREFIX.length);
  const bytes = Buffer.from(text, "base64");
  if (!base64.test(text) || bytes.length < IV_BYTES + TAG_BYTES) throw new SealedValueError("malformed", setting, "is a damaged sealed value");
  const decipher = createDecipheriv("aes-256-gcm", key.object, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(setting));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw new SealedValueError("refused", setting, "cannot be opened: it was sealed with another SECRET_KEY, altered, or copied from another setting");
  }
}
