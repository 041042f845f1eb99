import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { serverPool, type RunningServer } from "../helpers/server";

const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });

/** The server's log events once one matching `wanted` has arrived (stderr is read as it comes). */
async function eventsOnce(server: RunningServer, wanted: (event: Record<string, unknown>) => boolean) {
  for (const deadline = Date.now() + 2000; !server.events().some(wanted) && Date.now() < deadline; ) await Bun.sleep(10);
  return server.events();
}

describe("an internal error in the compiled binary", () => {
  test("a real failure (the users table gone under the server) is the JSON 500: no HTML, no path, no stack", async () => {
    const server = await start();
    const db = new Database(server.db);
    db.run("DROP TABLE users");
    db.close();
    const res = await server.fetch("/api/v1/users", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ username: "carol", password: "correct horse battery" }),
    });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "Internal server error", code: "internal_error" });
    const failed = (await eventsOnce(server, (e) => e.msg === "request failed")).find((e) => e.msg === "request failed");
    expect(String(failed?.error)).toContain("no such table");
    expect(failed?.path).toBe("/api/v1/users");
    expect((await client(server).get("/api/v1/tokens")).status).toBe(200);
  });
});

describe("the compiled binary's log", () => {
  test("holds no token, even one a client put in a path or a query", async () => {
    const server = await start();
    const api = client(server);
    const { token } = (await api.post("/api/v1/tokens", { user: "alice" })).body as { token: string };
    expect((await api.get(`/api/v1/tokens/${token}?token=${token}`)).status).toBe(200);
    expect((await api.delete(`/api/v1/tokens/${token}`)).status).toBe(200);
    const events = await eventsOnce(server, (e) => e.msg === "request" && e.method === "DELETE");
    expect(events.filter((e) => e.msg === "request").map((e) => `${e.method} ${e.path}`)).toContain("DELETE /api/v1/tokens/[redacted]");
    expect(server.logs()).not.toContain(token);
    expect(server.logs()).not.toContain(ADMIN_TOKEN);
  });
});
