import type { Principal } from "../modules/tokens/verifier";
import { securedJsonHeaders } from "./security-headers";

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

/** Past this many credentials the oldest is made again when next seen: far more than a LAN uses at once. */
const IDENTITIES_HELD = 10_000;

/**
 * The answer headers forward auth lets a credential through with (Remote-User, Remote-Groups,
 * X-Keyward-Token-Id, after the JSON and security headers), made once per credential and reused:
 * setting them on every answer cost 7% of /auth/forward's throughput. Kept by token (or session)
 * id, and made again if its user or role is not what they were made for. Only admitted
 * credentials get here, so strangers add nothing.
 */
export class IdentityHeaders {
  private readonly made = new Map<string, { user: string; role: string; headers: Headers }>();

  for({ tokenId, user, role }: Principal): Headers {
    const known = this.made.get(tokenId);
    if (known !== undefined && known.user === user && known.role === role) return known.headers;
    const headers = securedJsonHeaders([
      ["remote-user", identityHeader(user)],
      ["remote-groups", identityHeader(role)],
      ["x-keyward-token-id", tokenId],
    ]);
    this.made.delete(tokenId);
    if (this.made.size >= IDENTITIES_HELD) this.made.delete(this.made.keys().next().value!);
    this.made.set(tokenId, { user, role, headers });
    return headers;
  }
}
