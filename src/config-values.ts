import { parseCidr, type Cidr } from "./lib/cidr";
import { parseDuration } from "./lib/durations";
import { isRoleName, normalizeUser } from "./lib/names";
import { hasValidChecksum, looksLikeToken } from "./lib/token-format";

// How each setting's text becomes its value. A parser throws an Error whose message finishes the
// sentence "<SOURCE>=<value>: …"; the config module adds the source.

/** One API_TOKENS entry: the label becomes the user, and the role when spelled like one (see roleOfLabel). */
export interface EnvToken {
  label: string | null;
  token: string;
}

export function parseWhole(raw: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

export function parsePort(raw: string): number {
  return parseWhole(raw, 0, 65535);
}

export function parseHost(raw: string): string {
  if (!/^(\[[0-9A-Fa-f:.%\w]+\]|[0-9A-Fa-f:.%]+|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/.test(raw)) {
    throw new Error("must be a host name or an IP address");
  }
  return raw.startsWith("[") ? raw.slice(1, -1) : raw;
}

export function parsePath(raw: string): string {
  if (raw.includes("\0")) throw new Error("must be a file path");
  return raw;
}

export function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new Error("must be true or false");
}

/**
 * What an `Authorization: Bearer` header can carry (RFC 6750's b64token). An environment token
 * outside it could never be presented that way: it is refused at start, not left a dead key.
 */
const bearerText = /^[A-Za-z0-9._~+/-]+=*$/;
const MAX_ENV_TOKEN = 512;

function checkEnvToken(token: string): void {
  if (token.length > MAX_ENV_TOKEN) throw new Error(`is longer than ${MAX_ENV_TOKEN} characters`);
  if (!bearerText.test(token)) {
    const colon = token.includes(":") ? " (':' is there: only the first ':' of an entry separates its label)" : "";
    throw new Error(`has a character a Bearer header cannot carry${colon}; use letters, digits and - . _ ~ + / only (openssl rand -hex 32)`);
  }
  if (looksLikeToken(token) && !hasValidChecksum(token)) {
    throw new Error("looks like a Keyward token (kw_…) but its checksum is wrong, so it could never be accepted: it was mistyped or cut short; copy it again");
  }
}

export function parseAdminToken(raw: string): string {
  checkEnvToken(raw);
  if (raw.length < 16) throw new Error("is too short to be safe: use at least 16 characters (openssl rand -hex 32)");
  return raw;
}

/**
 * The most a secret of this form can hold: its length times log2 of the alphabet of the character
 * classes it uses (hex counts as 16; the six symbols a Bearer header carries as 6). A value that
 * repeats a shorter one counts as that one, and a value of fewer than 8 different characters as
 * drawn from an alphabet of twice that many. A value made by a person holds far less; one under
 * 128 bits by this count is certainly guessable, whatever made it.
 */
export function secretBits(secret: string): number {
  const unit = repeatedUnit(secret);
  const classes = /^[0-9a-f]+$/.test(unit) || /^[0-9A-F]+$/.test(unit)
    ? 16
    : (/[a-z]/.test(unit) ? 26 : 0) + (/[A-Z]/.test(unit) ? 26 : 0) + (/[0-9]/.test(unit) ? 10 : 0) + (/[^A-Za-z0-9]/.test(unit) ? 6 : 0);
  const distinct = new Set(unit).size;
  const alphabet = distinct < 8 ? Math.min(classes, 2 * distinct) : classes;
  return Math.floor(unit.length * Math.log2(Math.max(alphabet, 1)));
}

/** The shortest text that the secret repeats (`abcabcab` → `abc`); the secret itself if none. */
function repeatedUnit(secret: string): string {
  for (let period = 1; period <= secret.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < secret.length && repeats; i++) repeats = secret[i] === secret[i - period];
    if (repeats) return secret.slice(0, period);
  }
  return secret;
}

export function parseSecretKey(raw: string): string {
  if (raw.length < 32) throw new Error("is too short to sign tokens safely: use at least 32 characters (openssl rand -hex 32)");
  return raw;
}

/** Entries are `label:token` or a bare token; the first `:` separates the label, so a token has none. */
export function parseApiTokens(raw: string): EnvToken[] {
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry, index) => {
      const colon = entry.indexOf(":");
      const label = colon === -1 ? null : entry.slice(0, colon);
      const token = colon === -1 ? entry : entry.slice(colon + 1);
      if (token === "") throw new Error(`entry ${index + 1} has no usable token`);
      try {
        checkEnvToken(token);
      } catch (error) {
        throw new Error(`entry ${index + 1}: its token ${(error as Error).message}`);
      }
      try {
        return { label: label === null ? null : normalizeUser(label), token };
      } catch {
        throw new Error(`entry ${index + 1} has a label that is not a user name`);
      }
    });
  // One value twice would be one record with the later label: say so rather than drop the first.
  const first = new Map<string, number>();
  entries.forEach(({ token }, index) => {
    const earlier = first.get(token);
    if (earlier !== undefined) throw new Error(`entries ${earlier + 1} and ${index + 1} have the same token; give each its own`);
    first.set(token, index);
  });
  return entries;
}

export function oneOf<const T extends string>(allowed: readonly T[]) {
  return (raw: string): T => {
    const value = raw.toLowerCase();
    if (!allowed.includes(value as T)) throw new Error(`must be one of ${allowed.join(", ")}`);
    return value as T;
  };
}

export function parsePositiveDuration(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === 0) throw new Error("must be longer than zero");
  return ms;
}

export function parseDays(raw: string): number {
  if (!/^\d{1,5}(\.\d{1,6})?$/.test(raw.trim()) || Number(raw) <= 0 || Number(raw) > 36_500) {
    throw new Error("must be a number of days above 0 (decimals allowed), at most 36500");
  }
  return Number(raw);
}

export function parseRoleName(raw: string): string {
  const role = raw.trim().toLowerCase();
  if (!isRoleName(role)) throw new Error("must be a role: a lower-case word");
  return role;
}

export const parseCidrList = (raw: string): Cidr[] => raw.split(",").map((entry) => parseCidr(entry));
