/**
 * The floor: what GET /data costs with no framework at all. Hand-written on Bun.serve's native
 * router, it does the work Keyward's token check does — strict Bearer parse, shape and checksum,
 * SHA-256, a cached lookup, expiry and revocation, a usage count, a JSON answer with the security
 * headers — and nothing else. Keyward is measured against it: the gap is what the framework and
 * Keyward's own layers (logging, metrics, lockout, audit) cost.
 */
import { hasValidChecksum, hashToken } from "../src/lib/token-format";

const [port, token] = process.argv.slice(2);
if (!token) throw new Error("usage: bun bench/floor.ts PORT TOKEN");

interface Known {
  user: string;
  expiresAt: number | null;
  revokedAt: number | null;
}
const known = new Map<string, Known>([[hashToken(token), { user: "bench", expiresAt: null, revokedAt: null }]]);
const uses = new Map<string, { count: number; at: number }>();

const headers = {
  "content-type": "application/json",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};
const bearer = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const refused = () => new Response('{"error":{"code":"invalid_token","message":"Invalid or expired authentication token"}}', { status: 401, headers });

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(port ?? 0),
  routes: {
    "/data": {
      GET(request) {
        const presented = bearer.exec(request.headers.get("authorization") ?? "")?.[1];
        if (!presented || !hasValidChecksum(presented)) return refused();
        const hash = hashToken(presented);
        const entry = known.get(hash);
        const now = Date.now();
        if (!entry || entry.revokedAt !== null || (entry.expiresAt !== null && entry.expiresAt <= now)) return refused();
        const use = uses.get(hash);
        if (use) {
          use.count++;
          use.at = now;
        } else uses.set(hash, { count: 1, at: now });
        return new Response(JSON.stringify({ message: `Hello ${entry.user}, here is your data!` }), { headers });
      },
    },
  },
  fetch: () => new Response("not found", { status: 404 }),
});
console.log(`listening ${server.port}`);
