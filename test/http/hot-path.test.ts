import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

/**
 * The token check runs on every protected request. These are the promises the benchmark rests on
 * (bench/RESULTS.md): each fails if a change brings back a cost every request would pay.
 */
describe("the hot path", () => {
  test("no global hook makes every route pay: none on request, on parse or after the response", () => {
    const { app } = inProcessApp();
    app.compile();
    // A global onRequest makes every route read the URL; onParse makes every generated handler
    // asynchronous, GETs included; onAfterResponse schedules a task per request.
    expect(app.event.request ?? []).toEqual([]);
    expect(app.event.parse ?? []).toEqual([]);
    expect(app.event.afterResponse ?? []).toEqual([]);
  });

  test("a good token's client address is asked once per usage flush, not per request", async () => {
    const kw = inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const { token, id } = (await client(kw).post("/api/v1/tokens", { user: "alice" })).body as { token: string; id: string };
    kw.flush();
    const before = kw.addressLookups();
    for (let i = 0; i < 50; i++) expect((await kw.fetch("/data", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(kw.addressLookups() - before).toBe(1);
    kw.flush();
    const row = (await client(kw).get(`/api/v1/tokens/${id}`)).body as { request_count: number; last_ip: string };
    expect(row).toMatchObject({ request_count: 50, last_ip: "127.0.0.1" });
  });

  test("a refusal and an address allowlist still ask for the address, on every request", async () => {
    const kw = inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN }, {}, { peer: "10.0.0.9" });
    const { token } = (await client(kw).post("/api/v1/tokens", { user: "alice", allowed_ips: ["10.0.0.0/8"] })).body as { token: string };
    const before = kw.addressLookups();
    for (let i = 0; i < 3; i++) expect((await kw.fetch("/data", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await kw.fetch("/data", { headers: { authorization: "Bearer kw_nope" } })).status).toBe(401);
    expect(kw.addressLookups() - before).toBe(6);
  });

  test("a method a client invents is counted as OTHER, so the metric's series stay few", async () => {
    const kw = inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    for (const method of ["PROPFIND", "MKCOL", "REPORT"]) await kw.fetch("/data", { method });
    const scraped = kw.metrics.render([]);
    expect(scraped).toContain('keyward_http_requests_total{method="OTHER",route="unmatched",status="404"} 3');
    expect(scraped).not.toContain("PROPFIND");
  });
});
