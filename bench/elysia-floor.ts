/**
 * The floor's work (bench/floor-check.ts) as Elysia routes, served as Keyward serves: what Elysia
 * itself costs, apart from Keyward's own layers. GET /data is the floor's; /auth/forward answers as
 * the floor's does and, like Keyward's, is registered for every method, so that Elysia routes it:
 * the nearest a forward-auth route that Elysia routes this way comes to the GET /data floor. The
 * answers are written `new Response(…)` so that Elysia compiles each route as synchronous (a route
 * returning a call reads as asynchronous to it: see src/http/deferred.ts);
 * test/bench/floor.test.ts holds it to that.
 */
import { Elysia } from "elysia";
import { FLOOR_HEADERS, floorCheck, identityHeaders, REFUSED, roleAllowed, WRONG_ROLE } from "./floor-check";

export function elysiaFloor(token: string, tokenId?: string) {
  const check = floorCheck(token, tokenId);
  return new Elysia()
    .get("/data", ({ request }) => {
      const user = check(request)?.user;
      return user === undefined
        ? new Response(REFUSED, { status: 401, headers: FLOOR_HEADERS })
        : new Response(JSON.stringify({ message: `Hello ${user}, here is your data!` }), { headers: FLOOR_HEADERS });
    })
    .all("/auth/forward", ({ request }) => {
      const known = check(request);
      if (known === null) return new Response(REFUSED, { status: 401, headers: FLOOR_HEADERS });
      if (!roleAllowed(request, known)) return new Response(WRONG_ROLE, { status: 403, headers: FLOOR_HEADERS });
      return new Response(JSON.stringify({ user: known.user, role: known.role, token_id: known.tokenId }), { headers: identityHeaders(known) });
    });
}

if (import.meta.main) {
  const [port, token, tokenId] = process.argv.slice(2);
  if (!token) throw new Error("usage: bun bench/elysia-floor.ts PORT TOKEN [TOKEN_ID]");
  const app = elysiaFloor(token, tokenId).listen({ hostname: "127.0.0.1", port: Number(port ?? 0), development: false, reusePort: false });
  console.log(`listening ${app.server?.port}`);
}
