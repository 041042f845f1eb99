import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { activeIntrospection, ADMIN_TOKEN, client } from "../helpers/api";
import { startKeyward, type RunningServer } from "../helpers/server";

let server: RunningServer;
let alice: { token: string; id: string; user: string; role: string; created_at: string; expires_at: string };
let resourceServer: string;
let device: { main_token: string; short_token: string; device_id: string };

beforeAll(async () => {
  server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "introspection-test-secret-0123456789abcdef" } });
  const api = client(server);
  alice = (await api.post("/api/v1/tokens", { user: "alice", role: "analyst" })).body;
  resourceServer = (await api.post("/api/v1/tokens", { user: "nas", role: "resource-server" })).body.token;
  device = (await api.post("/api/v1/tokens/main", { hardware_fingerprint: "fp-1" })).body;
});
afterAll(() => server.stop());

const introspect = async (token: string, caller = ADMIN_TOKEN) => {
  const res = await server.fetch("/oauth/introspect", {
    method: "POST",
    headers: { authorization: `Bearer ${caller}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe("POST /oauth/introspect (RFC 7662)", () => {
  test("an API token is active, with sub, username, scope, exp, iat, token_type and client_id", async () => {
    const { status, body } = await introspect(alice.token);
    expect(status).toBe(200);
    expect(body).toEqual(activeIntrospection(alice));
  });

  test("a login token and a device's main and short tokens are active too", async () => {
    await client(server).post("/api/v1/users", { username: "bob", password: "correct horse battery" });
    const login = (await (await server.fetch("/login", { method: "POST", body: new URLSearchParams({ username: "bob", password: "correct horse battery" }) })).json()) as { token: string };
    expect((await introspect(login.token)).body).toMatchObject({ active: true, username: "bob", token_type: "login" });
    expect((await introspect(device.main_token)).body).toMatchObject({ active: true, sub: device.device_id, scope: "device", token_type: "device" });
    expect((await introspect(device.short_token)).body).toMatchObject({ active: true, sub: device.device_id, token_type: "device" });
  });

  test("anything else is only {active: false}: revoked, made up, garbage", async () => {
    const doomed = (await client(server).post("/api/v1/tokens", { user: "carol" })).body;
    await client(server).delete(`/api/v1/tokens/${doomed.id}`);
    for (const token of [doomed.token, `kw_${"A".repeat(49)}`, "garbage", "a.b.c", "x".repeat(32)]) {
      expect((await introspect(token)).body).toEqual({ active: false });
    }
  });

  test("a resource server's role may introspect; an ordinary token may not, in OAuth's error shape", async () => {
    expect((await introspect(alice.token, resourceServer)).body.active).toBe(true);
    expect(await introspect(resourceServer, alice.token)).toEqual({ status: 403, body: { error: "insufficient_scope", error_description: expect.any(String) } });
    expect(await introspect(alice.token, "nope")).toEqual({ status: 401, body: { error: "invalid_client", error_description: expect.any(String) } });
  });

  test("a client authenticates with HTTP Basic, token id and token, as curl -u sends them", async () => {
    const admin = (await client(server).get("/api/v1/me")).body as { token_id: string };
    const res = await server.fetch("/oauth/introspect", {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${admin.token_id}:${ADMIN_TOKEN}`)}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: alice.token }).toString(),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ active: true, sub: "alice", client_id: alice.id });
  });
});

describe("GET /metrics", () => {
  test("needs an admin token or one of the metrics role", async () => {
    expect((await server.fetch("/metrics")).status).toBe(401);
    expect((await client(server, alice.token).get("/metrics")).status).toBe(403);
    const scraper = (await client(server).post("/api/v1/tokens", { user: "prometheus", role: "metrics" })).body.token;
    expect((await client(server, scraper).get("/metrics")).status).toBe(200);
  });

  test("is valid Prometheus text with requests, latency, auth outcomes, gauges and memory", async () => {
    await client(server, alice.token).get("/data");
    await client(server, "kw_bad").get("/data");
    const res = await client(server).get("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const families = parsePrometheusTextFormat(res.body as string) as { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string> }[] }[];
    const family = (name: string) => families.find((f) => f.name === name)!;
    const dataOk = family("keyward_http_requests_total").metrics.find((m) => m.labels?.route === "/data" && m.labels.status === "200");
    expect(Number(dataOk?.value)).toBeGreaterThanOrEqual(1);
    expect(family("keyward_http_request_duration_seconds").type).toBe("HISTOGRAM");
    const outcomes = family("keyward_authentications_total").metrics.map((m) => `${m.labels?.outcome}:${m.labels?.reason}`);
    expect(outcomes).toEqual(expect.arrayContaining(["success:api", "failure:unknown", "failure:missing"]));
    expect(family("keyward_tokens_active").metrics.find((m) => m.labels?.source === "api")?.value).toBe("3");
    expect(family("keyward_devices").metrics[0]).toMatchObject({ labels: { status: "active" }, value: "1" });
    expect(Number(family("process_resident_memory_bytes").metrics[0]!.value)).toBeGreaterThan(10_000_000);
  });

  test("KEYWARD_METRICS_PUBLIC=true serves it without a token", async () => {
    const open = await startKeyward({ env: { KEYWARD_METRICS_PUBLIC: "true" } });
    try {
      expect((await open.fetch("/metrics")).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});
