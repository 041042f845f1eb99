import { timingSafeEqual } from "node:crypto";

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Encodes bytes as base62, left-padded to `length` characters so every output has one size. */
export function base62(bytes: Uint8Array, length: number): string {
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  let out = "";
  while (n > 0n) {
    out = alphabet[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(length, "0");
}

/** `length` base62 characters from the CSPRNG. */
export function randomBase62(length: number): string {
  // Each character carries log2(62) ≈ 5.95 bits; draw enough bytes to cover them all.
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil((length * 5.96) / 8)));
  return base62(bytes, length).slice(-length);
}

export function sha256Hex(text: string): string {
  return Bun.SHA256.hash(text, "hex") as string;
}

/** A 32-bit number in base62, left-padded to `length`: plain arithmetic, no BigInt. */
export function base62Uint32(value: number, length: number): string {
  let out = "";
  for (let n = value >>> 0; n > 0; n = Math.floor(n / 62)) out = alphabet[n % 62] + out;
  return out.padStart(length, "0");
}

/** Compares two secrets in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
