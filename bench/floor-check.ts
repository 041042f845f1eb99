/**
 * The floor's token check (bench/floor.ts), shared with the same check as one Elysia route
 * (bench/elysia-floor.ts): strict Bearer parse, shape and checksum, SHA-256, a cached lookup,
 * expiry and revocation, a usage count. Keyward's GET /data does this and more.
 */
import { hasValidChecksum, hashToken } from "../src/lib/token-format";

/** The one token the floor knows: who it is, as Keyward's forward auth tells it. */
export interface Known {
  user: string;
  role: string;
  tokenId: string;
  expiresAt: number | null;
  revokedAt: number | null;
}

const ANSWER_HEADERS = {
  // As Keyward (and Response.json) says it: the floor sends the same bytes.
  "content-type": "application/json;charset=utf-8",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/**
 * The floor's answer headers, made once as Keyward makes its own: Bun copies a Headers object into
 * a response far faster than it reads a plain object's properties (a floor answering with the
 * plain object served about 10% less, paired, which flattered every ratio to it).
 */
export const FLOOR_HEADERS = new Headers(ANSWER_HEADERS);

/** The floor's answer headers with `extra` after them, made once by whoever answers with them often. */
export const floorHeaders = (extra: Record<string, string>) => new Headers({ ...ANSWER_HEADERS, ...extra });
export const REFUSED = '{"error":{"code":"invalid_token","message":"Invalid or expired authentication token"}}';
export const WRONG_ROLE = '{"error":{"code":"insufficient_role","message":"This token\'s role may not pass here"}}';

/**
 * Whether `known` passes the `?role=` in the request's URL, as forward auth must ask: its checks are
 * in the URL the proxy is configured with. Reading the URL is the cost (Bun builds it on first use,
 * about 5% of the floor's throughput); a request without a query pays only that.
 */
export function roleAllowed(request: Request, known: Known): boolean {
  const url = request.url;
  const query = url.indexOf("?");
  if (query === -1) return true;
  const roles = new URLSearchParams(url.slice(query + 1)).get("role");
  return roles === null || roles.split(",").includes(known.role);
}

const identities = new WeakMap<Known, Headers>();

/** Forward auth's answer headers for `known` (the identity a proxy copies), made once per token. */
export function identityHeaders(known: Known): Headers {
  let headers = identities.get(known);
  if (headers === undefined) identities.set(known, (headers = floorHeaders({ "remote-user": known.user, "remote-groups": known.role, "x-keyward-token-id": known.tokenId })));
  return headers;
}

const bearer = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Knows one token (its id as Keyward gave it); answers who a request's Bearer token is, or null. */
export function floorCheck(token: string, tokenId = "tok_floor0000000000"): (request: Request) => Known | null {
  const known = new Map<string, Known>([[hashToken(token), { user: "bench", role: "user", tokenId, expiresAt: null, revokedAt: null }]]);
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
    return entry;
  };
}
