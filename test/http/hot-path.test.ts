import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

/**
 * The token check runs on every protected request. These are the promises the benchmark rests on
 * (bench/RESULTS.md): each fails if a change brings back a cost every request would pay.
 */
describe("the hot path", () => {
  test("no global hook makes every route pay: none on request, on parse or after the response", async () => {
    const { app } = await inProcessApp();
    app.compile();
    // A global onRequest makes every route read the URL; onParse makes every generated handler
    // asynchronous, GETs included; onAfterResponse schedules a task per request.
    expect(app.event.request ?? []).toEqual([]);
    expect(app.event.parse ?? []).toEqual([]);
    expect(app.event.afterResponse ?? []).toEqual([]);
  });

  test("the hot routes compile to synchronous handlers: a good credential is answered with no promise on the way", async () => {
    const { app } = await inProcessApp();
    app.compile();
    const handlerOf = (method: string, path: string) => {
      const route = (app.router.history as { method: string; path: string; compile?: () => Function; composed?: Function }[]).find((r) => r.method === method && r.path === path);
      return route?.compile?.() ?? route?.composed;
    };
    for (const [method, path] of [["GET", "/data"], ["GET", "/api/v1/me"], ["ALL", "/auth/forward"], ["ALL", "/auth/request"], ["GET", "/api/v1/tokens/verify"]] as const) {
      expect(`${method} ${path}: ${handlerOf(method, path)?.constructor.name}`).toBe(`${method} ${path}: Function`);
    }
    // An admin route reads a body and awaits its check, device JWTs included.
    expect(handlerOf("POST", "/api/v1/tokens")?.constructor.name).toBe("AsyncFunction");
  });

  test("the hot routes answer as every JSON route does: the same content type and security headers, in the same order", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const { token } = (await client(kw).post("/api/v1/tokens", { user: "alice" })).body as { token: string };
    const enrolled = await kw.fetch("/api/v1/tokens/main", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hardware_fingerprint: "fp-1" }) });
    const { short_token } = (await enrolled.json()) as { short_token: string };
    const headersOf = async (path: string, init?: RequestInit) => {
      const res = await kw.fetch(path, init);
      expect(`${path} ${res.status}`).toBe(`${path} 200`);
      return [...res.headers.entries()].filter(([name]) => name !== "content-length");
    };
    // /health's answer goes through Elysia's own mapping: the reference.
    const reference = await headersOf("/health");
    const bearer = { headers: { authorization: `Bearer ${token}` } };
    for (const path of ["/data", "/api/v1/me", `/api/v1/tokens/verify?short_token=${short_token}`]) expect(await headersOf(path, bearer)).toEqual(reference);
    const forwarded = await headersOf("/auth/forward", bearer);
    expect(forwarded.filter(([name]) => !["remote-user", "remote-groups", "x-keyward-token-id"].includes(name))).toEqual(reference);
  });

  test("a device credential decided later runs its route again: one answer, counted once", async () => {
    const kw = await inProcessApp();
    const enrolled = await kw.fetch("/api/v1/tokens/main", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hardware_fingerprint: "fp-1" }) });
    const { main_token, short_token } = (await enrolled.json()) as { main_token: string; short_token: string };
    const asDevice = (fingerprint: string) => ({ headers: { authorization: `Bearer ${main_token}`, "x-hardware-fingerprint": fingerprint } });
    for (let i = 0; i < 2; i++) {
      expect((await kw.fetch("/data", asDevice("fp-1"))).status).toBe(200);
      expect((await kw.fetch("/auth/forward", asDevice("fp-1"))).headers.get("remote-groups")).toBe("device");
      expect((await kw.fetch(`/api/v1/tokens/verify?short_token=${short_token}&hardware_fingerprint=fp-1`)).status).toBe(200);
    }
    expect((await kw.fetch("/api/v1/me", asDevice("fp-2"))).status).toBe(403);
    const forged = await kw.fetch("/api/v1/me", { headers: { authorization: "Bearer a.b.c", "x-hardware-fingerprint": "fp-1" } });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({ error: "Invalid or expired authentication token", code: "invalid_token", detail: "Invalid or expired authentication token" });
    const scraped = kw.metrics.render([]);
    expect(scraped).toContain('keyward_http_requests_total{method="GET",route="/data",status="200"} 2');
    expect(scraped).toContain('keyward_http_requests_total{method="GET",route="/api/v1/tokens/verify",status="200"} 2');
    expect(scraped).toContain('keyward_authentications_total{outcome="success",reason="device"} 6');
    expect(scraped).toContain('keyward_authentications_total{outcome="failure",reason="fingerprint_mismatch"} 1');
    expect(scraped).not.toContain('status="503"');
  });

  test("a good token's client address is asked once per usage flush, not per request", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const { token, id } = (await client(kw).post("/api/v1/tokens", { user: "alice" })).body as { token: string; id: string };
    await kw.flush();
    const before = kw.addressLookups();
    for (let i = 0; i < 50; i++) expect((await kw.fetch("/data", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(kw.addressLookups() - before).toBe(1);
    await kw.flush();
    const row = (await client(kw).get(`/api/v1/tokens/${id}`)).body as { request_count: number; last_ip: string };
    expect(row).toMatchObject({ request_count: 50, last_ip: "127.0.0.1" });
  });

  test("a refusal and an address allowlist still ask for the address, on every request", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN }, {}, { peer: "10.0.0.9" });
    const { token } = (await client(kw).post("/api/v1/tokens", { user: "alice", allowed_ips: ["10.0.0.0/8"] })).body as { token: string };
    const before = kw.addressLookups();
    for (let i = 0; i < 3; i++) expect((await kw.fetch("/data", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await kw.fetch("/data", { headers: { authorization: "Bearer kw_nope" } })).status).toBe(401);
    expect(kw.addressLookups() - before).toBe(6);
  });

  test("a method a client invents is counted as OTHER, so the metric's series stay few", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    for (const method of ["PROPFIND", "MKCOL", "REPORT"]) await kw.fetch("/data", { method });
    const scraped = kw.metrics.render([]);
    expect(scraped).toContain('keyward_http_requests_total{method="OTHER",route="unmatched",status="404"} 3');
    expect(scraped).not.toContain("PROPFIND");
  });
});
