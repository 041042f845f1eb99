/**
 * The floor: what GET /data costs with no framework at all. Hand-written on Bun.serve's native
 * router, it does the work Keyward's token check does (bench/floor-check.ts) and answers JSON with
 * the security headers, and nothing else. Keyward is measured against it: the gap is what the
 * framework and Keyward's own layers (logging, metrics, lockout, audit) cost.
 */
import { FLOOR_HEADERS, floorCheck, REFUSED } from "./floor-check";

const [port, token] = process.argv.slice(2);
if (!token) throw new Error("usage: bun bench/floor.ts PORT TOKEN");
const userOf = floorCheck(token);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(port ?? 0),
  routes: {
    "/data": {
      GET(request) {
        const user = userOf(request);
        if (user === null) return new Response(REFUSED, { status: 401, headers: FLOOR_HEADERS });
        return new Response(JSON.stringify({ message: `Hello ${user}, here is your data!` }), { headers: FLOOR_HEADERS });
      },
    },
  },
  fetch: () => new Response("not found", { status: 404 }),
});
console.log(`listening ${server.port}`);
