import { base62, base62Uint32, sha256Hex } from "./crypto";

/**
 * Keyward API tokens look like `kw_<43 random base62><6 checksum>`: 256 bits from the CSPRNG,
 * a prefix secret scanners can match, and a CRC32 so a mistyped or made-up token is refused
 * before any database lookup.
 */
export const TOKEN_PREFIX = "kw_";
const RANDOM_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const shape = /^kw_[0-9A-Za-z]{49}$/;

export function generateToken(): string {
  const random = base62(crypto.getRandomValues(new Uint8Array(32)), RANDOM_LENGTH);
  return `${TOKEN_PREFIX}${random}${checksum(random)}`;
}

/** True when the text has the shape of a Keyward token (it may still be mistyped). */
export function looksLikeToken(text: string): boolean {
  return shape.test(text);
}

/** True when the shape and the checksum are right: worth a lookup. */
export function hasValidChecksum(text: string): boolean {
  return shape.test(text) && checksumMatches(text);
}

/**
 * For text of the token's shape: whether its last characters are the checksum of the rest. Read as
 * a number rather than compared as text, since this runs on every token check.
 */
export function checksumMatches(token: string): boolean {
  const body = token.length - CHECKSUM_LENGTH;
  let value = 0;
  for (let i = body; i < token.length; i++) value = value * 62 + base62Digit(token.charCodeAt(i));
  return value === Bun.hash.crc32(token.slice(0, body));
}

/** 0–9, A–Z, a–z as 0–61 (the shape has already ruled out anything else). */
const base62Digit = (code: number) => (code <= 57 ? code - 48 : code <= 90 ? code - 55 : code - 61);

/** What is stored: a stolen database gives hashes, never a usable token. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * A hint to tell Keyward tokens apart in lists, safe to show: the prefix and the last 4
 * characters, which belong to the checksum. Any other text gets no hint from its characters.
 */
export function tokenHint(token: string): string {
  return looksLikeToken(token) ? `${TOKEN_PREFIX}…${token.slice(-4)}` : "…";
}

function checksum(random: string): string {
  return base62Uint32(Bun.hash.crc32(`${TOKEN_PREFIX}${random}`), CHECKSUM_LENGTH);
}
