/**
 * The floor's token check (bench/floor.ts), shared with the same check as one Elysia route
 * (bench/elysia-floor.ts): strict Bearer parse, shape and checksum, SHA-256, a cached lookup,
 * expiry and revocation, a usage count. Keyward's GET /data does this and more.
 */
import { hasValidChecksum, hashToken } from "../src/lib/token-format";

interface Known {
  user: string;
  expiresAt: number | null;
  revokedAt: number | null;
}

export const FLOOR_HEADERS = {
  "content-type": "application/json",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};
export const REFUSED = '{"error":{"code":"invalid_token","message":"Invalid or expired authentication token"}}';

const bearer = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Knows one token; answers the user a request's Bearer token belongs to, or null. */
export function floorCheck(token: string): (request: Request) => string | null {
  const known = new Map<string, Known>([[hashToken(token), { user: "bench", expiresAt: null, revokedAt: null }]]);
  const uses = new Map<string, { count: number; at: number }>();
  return (request) => {
    const presented = bearer.exec(request.headers.get("authorization") ?? "")?.[1];
    if (!presented || !hasValidChecksum(presented)) return null;
    const hash = hashToken(presented);
    const entry = known.get(hash);
    const now = Date.now();
    if (!entry || entry.revokedAt !== null || (entry.expiresAt !== null && entry.expiresAt <= now)) return null;
    const use = uses.get(hash);
    if (use) {
      use.count++;
      use.at = now;
    } else uses.set(hash, { count: 1, at: now });
    return entry.user;
  };
}
