/**
 * The floor: what GET /data costs with no framework at all. Hand-written on Bun.serve's native
 * router, it does the work Keyward's token check does (bench/floor-check.ts) and answers JSON with
 * the security headers, and nothing else. Keyward is measured against it: the gap is what the
 * framework and Keyward's own layers (logging, metrics, lockout, audit) cost.
 *
 * It also answers /auth/forward as Keyward does (the same body, and the identity headers a proxy
 * copies), and reads its URL for a `?role=` check as forward auth must: forward auth's work is more
 * than GET /data's, and this route says what that alone costs. Written as GET /data is: its headers
 * made once per token, its body per request.
 */
import { FLOOR_HEADERS, floorCheck, identityHeaders, REFUSED, roleAllowed, WRONG_ROLE } from "./floor-check";

const [port, token, tokenId] = process.argv.slice(2);
if (!token) throw new Error("usage: bun bench/floor.ts PORT TOKEN [TOKEN_ID]");
const check = floorCheck(token, tokenId);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(port ?? 0),
  routes: {
    "/data": {
      GET(request) {
        const known = check(request);
        if (known === null) return new Response(REFUSED, { status: 401, headers: FLOOR_HEADERS });
        return new Response(JSON.stringify({ message: `Hello ${known.user}, here is your data!` }), { headers: FLOOR_HEADERS });
      },
    },
    "/auth/forward": {
      GET(request) {
        const known = check(request);
        if (known === null) return new Response(REFUSED, { status: 401, headers: FLOOR_HEADERS });
        if (!roleAllowed(request, known)) return new Response(WRONG_ROLE, { status: 403, headers: FLOOR_HEADERS });
        return new Response(JSON.stringify({ user: known.user, role: known.role, token_id: known.tokenId }), { headers: identityHeaders(known) });
      },
    },
  },
  fetch: () => new Response("not found", { status: 404 }),
});
console.log(`listening ${server.port}`);
