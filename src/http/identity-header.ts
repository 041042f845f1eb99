/** Printable ASCII except `%`: what a name may hold and still travel in a header unchanged. */
const plain = /^[\x21-\x24\x26-\x7e]*$/;

/**
 * A name as a header value that every proxy passes on unchanged: plain ASCII names as they are;
 * otherwise every byte of its UTF-8 outside printable ASCII, and `%` itself, percent-encoded
 * (`josé` → `jos%C3%A9`), so `decodeURIComponent` gives the name back. Bun refuses header values
 * outside Latin-1, and raw Latin-1 bytes would reach applications as mojibake.
 */
export function identityHeader(name: string): string {
  if (plain.test(name)) return name;
  let encoded = "";
  for (const byte of new TextEncoder().encode(name)) {
    encoded += plainByte(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

const plainByte = (byte: number) => byte > 0x20 && byte < 0x7f && byte !== 0x25;
