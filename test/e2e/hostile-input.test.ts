import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { expectSafe, hostileIds, routesOf, storedState } from "../helpers/hostile";
import { startKeyward, type RunningServer } from "../helpers/server";

// What the binary's HTTP layer handles itself (oversized bodies and headers, and path ids, which
// Bun's router decodes); every other hostile request is sent in-process by test/http/hostile-input.test.ts.
let server: RunningServer;
let routes: { method: string; path: string }[];
beforeAll(async () => {
  server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });
  routes = routesOf((await client(server).get("/swagger/json")).body);
});
afterAll(() => server.stop());

/** What is stored, read from the server's database file. */
function stored(): string {
  const db = new Database(server.db, { readonly: true });
  const state = storedState(db);
  db.close();
  return state;
}

describe("hostile requests on the wire", () => {
  test("hostile path ids on every route with a parameter: 4xx in the error shape", async () => {
    const before = stored();
    for (const { method, path } of routes.filter((r) => r.path.includes("{"))) {
      for (const id of hostileIds) {
        const res = await server.fetch(path.replace(/\{[^}]+\}/g, id), {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          body: method === "GET" || method === "DELETE" ? undefined : "{}",
        });
        await expectSafe(res, `${method} ${path} with id ${id.slice(0, 20)}`);
      }
    }
    expect(stored()).toBe(before);
  });

  test("a body over 1 MiB → 413 in the error shape, and the server carries on", async () => {
    const res = await server.fetch("/api/v1/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ user: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "body_too_large" });
    expect((await server.fetch("/health")).status).toBe(200);
  });

  test("huge headers are refused by the HTTP layer (431), and the server carries on", async () => {
    const res = await server.fetch("/data", { headers: { authorization: `Bearer ${"A".repeat(200_000)}` } }).catch(() => null);
    expect(res === null || res.status === 431 || res.status === 401).toBe(true);
    expect((await server.fetch("/health")).status).toBe(200);
  });
});
