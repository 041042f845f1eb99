import { describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { identityHeader } from "../../src/http/identity-header";
import { inProcessApp } from "../helpers/app";

const ADMIN = "test-admin-token-0123456789abcdef";

async function forwardAuthApp() {
  const { app } = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN });
  const call = (path: string, init: RequestInit = {}) => app.handle(new Request(`http://localhost${path}`, init));
  const issue = async (user: string) => {
    const res = await call("/api/v1/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ user }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { token: string; user: string }).token;
  };
  return { call, issue };
}

describe("identity headers for names outside ASCII", () => {
  test.each([
    ["alice", "alice"],
    ["alice.smith@example.com", "alice.smith@example.com"],
    ["a+b-c_d", "a+b-c_d"],
    ["josé", "jos%C3%A9"],
    ["名前", "%E5%90%8D%E5%89%8D"],
    ["zoë😀", "zo%C3%AB%F0%9F%98%80"],
    ["50%", "50%25"],
    ["a b\r\nc", "a%20b%0D%0Ac"],
  ])("%p is sent as %p, and decodes back", (name, header) => {
    expect(identityHeader(name)).toBe(header);
    expect(decodeURIComponent(identityHeader(name))).toBe(name);
  });

  test.each(["josé", "名前", "ünïcödé", "Ωμέγα"])("a token for %p passes forward auth: 200, Remote-User percent-encoded, the body as it is", async (name) => {
    const { call, issue } = await forwardAuthApp();
    const token = await issue(name);
    const res = await call("/auth/forward", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const user = name.normalize("NFC").toLowerCase();
    expect(res.headers.get("remote-user")).toBe(identityHeader(user));
    expect(decodeURIComponent(res.headers.get("remote-user")!)).toBe(user);
    expect(((await res.json()) as { user: string }).user).toBe(user);
  });
});

describe("the keyward_token cookie", () => {
  test.each(["%E0%A4%A", "%", "%zz", "%C3%28"])("a malformed cookie %p is a 401 in the error shape", async (cookie) => {
    const { call } = await forwardAuthApp();
    const res = await call("/auth/forward", { headers: { cookie: `theme=dark; keyward_token=${cookie}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(await res.json()).toEqual({ error: expect.any(String), code: "invalid_token", detail: expect.any(String) });
  });

  test("a percent-encoded cookie still carries the token", async () => {
    const { call, issue } = await forwardAuthApp();
    const token = await issue("alice");
    const res = await call("/auth/forward", { headers: { cookie: `keyward_token=${encodeURIComponent(token).replace("k", "%6B")}` } });
    expect(res.status).toBe(200);
  });
});

/** The app with a core whose every token decision throws, as on a broken or busy database. */
async function appWhoseCoreThrows(error: Error) {
  const running = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN });
  const core = {
    ...running.core,
    token: () => {
      throw error;
    },
  };
  const app = createApp({ ...running, core }, () => ({ requestIP: () => ({ address: "127.0.0.1" }) }));
  return { call: (path: string) => app.handle(new Request(`http://localhost${path}`, { headers: { authorization: "Bearer kw_whatever" } })), log: running.log };
}

describe("only statuses nginx auth_request passes on (2xx, 401, 403)", () => {
  test.each(["/auth/forward", "/auth/request"])("a locked-out address at %s: 401 with Retry-After and WWW-Authenticate, where /data says 429", async (path) => {
    const { fetch } = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN, KEYWARD_MAX_FAILURES: "3" });
    for (let i = 0; i < 3; i++) await fetch("/data", { headers: { authorization: `Bearer guess-${i}` } });
    const guess = { headers: { authorization: "Bearer guess-3" } };
    expect((await fetch("/data", guess)).status).toBe(429);
    const res = await fetch(path, guess);
    expect(res.status).toBe(401);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="keyward"');
    expect(await res.json()).toEqual({ error: expect.stringContaining("try again in"), code: "too_many_failures", detail: expect.stringContaining("try again in") });
  });

  test.each(["/auth/forward", "/auth/request"])("an internal error at %s: 403 internal_error, fail closed; the detail goes to the log, not the client", async (path) => {
    const { call, log } = await appWhoseCoreThrows(new Error("SQLITE_CORRUPT at /var/lib/keyward/keyward.db"));
    const res = await call(path);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "Internal server error", code: "internal_error", detail: "Internal server error" });
    expect(String(log.lines.find((line) => line.msg === "request failed")?.error)).toContain("SQLITE_CORRUPT");
  });

  test.each(["/auth/forward", "/auth/request"])("a busy database at %s: 403 database_busy with Retry-After, where other routes say 503", async (path) => {
    const { call } = await appWhoseCoreThrows(Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" }));
    const res = await call(path);
    expect(res.status).toBe(403);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({ error: "The database is busy; try again in a moment", code: "database_busy", detail: "The database is busy; try again in a moment" });
    expect((await call("/data")).status).toBe(503);
  });
});
