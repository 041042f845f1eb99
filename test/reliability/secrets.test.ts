import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { client } from "../helpers/api";
import { startKeyward, type RunningServer } from "../helpers/server";

const ADMIN = "secrets-test-admin-token-0123456789";
const ENV_TOKEN = "6a12a1f2250df9edcea50e7b00b30142f353749c1965960770a32ed2e61d3c64";
const SECRET_KEY = "a-device-signing-secret-nobody-should-ever-see-42";
const PASSWORD = "correct horse battery staple";
const secrets: string[] = [ADMIN, ENV_TOKEN, SECRET_KEY, PASSWORD];

let server: RunningServer;
beforeAll(async () => {
  server = await startKeyward({
    env: { KEYWARD_ADMIN_TOKEN: ADMIN, API_TOKENS: `analyst:${ENV_TOKEN}`, SECRET_KEY, KEYWARD_LOG: "debug", KEYWARD_MAX_FAILURES: "1000000" },
  });
  const api = client(server, ADMIN);
  // A full tour: every kind of credential is made, used well, used badly, and sent where logs look.
  const token = (await api.post("/api/v1/tokens", { user: "alice" })).body.token as string;
  const rotated = (await api.post(`/api/v1/tokens/${(await api.get("/api/v1/tokens?user=alice")).body[0].id}/rotate`)).body.token as string;
  await api.post("/api/v1/users", { username: "bob", password: PASSWORD });
  const login = (await (await server.fetch("/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "bob", password: PASSWORD }) })).json()) as { token: string };
  const device = (await api.post("/api/v1/tokens/main", { hardware_fingerprint: "fp-secret" })).body;
  secrets.push(token, rotated, login.token, device.main_token, device.short_token);
  for (const t of [token, rotated, login.token, ENV_TOKEN, `${rotated}x`]) {
    await server.fetch(`/data?token=${t}`);
    await client(server, t).get("/api/v1/me");
    await server.fetch("/auth/forward", { headers: { cookie: `keyward_token=${t}` } });
  }
  await server.fetch(`/api/v1/tokens/verify?short_token=${device.short_token}&hardware_fingerprint=wrong`);
  await client(server, device.main_token).get("/data", { "x-hardware-fingerprint": "fp-secret" });
  await server.fetch("/login", { method: "POST", body: new URLSearchParams({ username: "bob", password: `${PASSWORD}!` }) });
  await server.fetch("/echo", { method: "POST", body: new URLSearchParams({ id: "bob", token: login.token, text: "hi" }) });
  await server.stop();
});
afterAll(() => server.stop());

describe("secrets stay secret", () => {
  test("no token, password or key appears in any log line of the whole tour", () => {
    const logs = server.logs();
    expect(logs.split("\n").length).toBeGreaterThan(30);
    for (const secret of secrets) expect(logs.includes(secret) ? `leaked ${secret.slice(0, 6)}…` : "clean").toBe("clean");
  });

  test("the database file holds no usable credential: no token, no password, no device token", () => {
    const bytes = [server.db, `${server.db}-wal`].map((f) => (Bun.file(f).size > 0 ? readFileSync(f).toString("latin1") : "")).join("");
    expect(bytes.length).toBeGreaterThan(10_000);
    for (const secret of secrets.filter((s) => s !== SECRET_KEY)) expect(bytes.includes(secret) ? `stored ${secret.slice(0, 6)}…` : "absent").toBe("absent");
    expect(bytes.includes(SECRET_KEY)).toBe(false);
  });
});

describe("security headers", () => {
  test("every page and answer says nosniff, no framing, no referrer", async () => {
    const live = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN } });
    try {
      for (const path of ["/", "/health", "/swagger", "/swagger/json", "/data", "/nope"]) {
        const res = await live.fetch(path, { headers: { accept: "text/html" } });
        expect(`${path} ${res.headers.get("x-content-type-options")}`).toBe(`${path} nosniff`);
        expect(`${path} ${res.headers.get("x-frame-options")}`).toBe(`${path} DENY`);
        expect(`${path} ${res.headers.get("referrer-policy")}`).toBe(`${path} no-referrer`);
        await res.arrayBuffer();
      }
    } finally {
      await live.stop();
    }
  });
});
