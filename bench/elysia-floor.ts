/**
 * The floor's work (bench/floor-check.ts) as one Elysia route, served as Keyward serves: what
 * Elysia itself costs on GET /data, apart from Keyward's own layers. Its answers are written
 * `new Response(…)` so that Elysia compiles the route as synchronous (a route returning a call
 * reads as asynchronous to it: see src/http/deferred.ts); test/bench/floor.test.ts holds it to that.
 */
import { Elysia } from "elysia";
import { FLOOR_HEADERS, floorCheck, REFUSED } from "./floor-check";

export function elysiaFloor(token: string) {
  const check = floorCheck(token);
  return new Elysia().get("/data", ({ request }) => {
    const user = check(request)?.user;
    return user === undefined
      ? new Response(REFUSED, { status: 401, headers: FLOOR_HEADERS })
      : new Response(JSON.stringify({ message: `Hello ${user}, here is your data!` }), { headers: FLOOR_HEADERS });
  });
}

if (import.meta.main) {
  const [port, token] = process.argv.slice(2);
  if (!token) throw new Error("usage: bun bench/elysia-floor.ts PORT TOKEN");
  const app = elysiaFloor(token).listen({ hostname: "127.0.0.1", port: Number(port ?? 0), development: false, reusePort: false });
  console.log(`listening ${app.server?.port}`);
}
