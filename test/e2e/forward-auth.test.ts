import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { startKeyward, type RunningServer } from "../helpers/server";

let server: RunningServer;
let user: { token: string; id: string };
beforeAll(async () => {
  server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });
  user = (await client(server).post("/api/v1/tokens", { user: "alice", role: "analyst" })).body;
});
afterAll(() => server.stop());

const forward = (path: string, headers: Record<string, string> = {}) => server.fetch(path, { headers });

describe("GET /auth/forward, as a reverse proxy calls it", () => {
  test("no token → 401 with WWW-Authenticate", async () => {
    const res = await forward("/auth/forward");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
  });

  test.each([
    ["an Authorization header", () => ({ authorization: `Bearer ${user.token}` })],
    ["a keyward_token cookie", () => ({ cookie: `theme=dark; keyward_token=${user.token}` })],
    ["?token= in X-Original-URL (nginx)", () => ({ "x-original-url": `https://nas.lan/files?token=${user.token}` })],
    ["?token= in X-Forwarded-Uri (Traefik, Caddy)", () => ({ "x-forwarded-uri": `/files?x=1&token=${user.token}` })],
  ])("a valid token in %s → 200 with Remote-User, Remote-Groups and X-Keyward-Token-Id", async (_, headers) => {
    const res = await forward("/auth/forward", headers());
    expect(res.status).toBe(200);
    expect(res.headers.get("remote-user")).toBe("alice");
    expect(res.headers.get("remote-groups")).toBe("analyst");
    expect(res.headers.get("x-keyward-token-id")).toBe(user.id);
  });

  test("?role= restricts who passes: 403 for another role, 200 for one of those listed", async () => {
    const headers = { authorization: `Bearer ${user.token}` };
    const refused = await forward("/auth/forward?role=admin", headers);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe("insufficient_role");
    expect((await forward("/auth/forward?role=admin,analyst", headers)).status).toBe(200);
    expect((await forward("/auth/forward?role=admin", { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
  });

  test("every method a proxy may use is answered", async () => {
    for (const method of ["GET", "HEAD", "POST", "PUT", "DELETE"]) {
      const res = await server.fetch("/auth/forward", { method, headers: { authorization: `Bearer ${user.token}` } });
      expect(`${method} ${res.status}`).toBe(`${method} 200`);
    }
  });

  test("uses are counted, and a revoked token is refused at once", async () => {
    const other = (await client(server).post("/api/v1/tokens", { user: "bob" })).body;
    for (let i = 0; i < 3; i++) await forward("/auth/forward", { authorization: `Bearer ${other.token}` });
    expect((await client(server).get(`/api/v1/tokens/${other.id}`)).body.request_count).toBe(3);
    await client(server).delete(`/api/v1/tokens/${other.id}`);
    expect((await forward("/auth/forward", { authorization: `Bearer ${other.token}` })).status).toBe(401);
  });

  test("a user named outside Latin-1 passes on the wire, with Remote-User percent-encoded", async () => {
    const named = (await client(server).post("/api/v1/tokens", { user: "名前" })).body;
    const res = await forward("/auth/forward", { authorization: `Bearer ${named.token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("remote-user")).toBe("%E5%90%8D%E5%89%8D");
  });

  test("a malformed keyward_token cookie → 401 in the error shape", async () => {
    const res = await forward("/auth/forward", { cookie: "keyward_token=%E0%A4%A" });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_token");
  });
});
