import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { headersOnSuccess, requestEnvelope } from "../../src/http/envelope";
import { errorHandling } from "../../src/http/errors";
import { requestObserver } from "../../src/http/request-observer";
import { SECURITY_HEADERS } from "../../src/http/security-headers";
import { Metrics } from "../../src/modules/metrics/registry";
import { countHandlers } from "../../src/shutdown";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { memoryLogger } from "../helpers/memory-log";

const secured = (label: string, res: Response) => Object.keys(SECURITY_HEADERS).map((name) => `${label} ${name}: ${res.headers.get(name) ?? "missing"}`);
const expected = (label: string) => Object.entries(SECURITY_HEADERS).map(([name, value]) => `${label} ${name}: ${value}`);

describe("the request envelope", () => {
  test("every kind of answer carries the security headers: pages, JSON, refusals, errors, redirects, files, HEAD", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const { token } = (await client(kw).post("/api/v1/tokens", { user: "alice" })).body as { token: string };
    const enrolled = await kw.fetch("/api/v1/tokens/main", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hardware_fingerprint: "fp-1" }) });
    const { main_token } = (await enrolled.json()) as { main_token: string };
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const cases: [string, string, RequestInit?][] = [
      ["good token", "/data", { headers: bearer(token) }],
      ["no token", "/data"],
      ["bad token", "/api/v1/me", { headers: bearer("kw_nope") }],
      // Decided later (a device's JWT, first seen): the route runs twice, one answer.
      ["device first seen", "/api/v1/me", { headers: { ...bearer(main_token), "x-hardware-fingerprint": "fp-1" } }],
      ["admin refusal", "/api/v1/tokens", { headers: bearer(token) }],
      ["validation", "/api/v1/tokens", { method: "POST", headers: { ...bearer(ADMIN_TOKEN), "content-type": "application/json" }, body: "{}" }],
      ["malformed body", "/api/v1/tokens", { method: "POST", headers: { ...bearer(ADMIN_TOKEN), "content-type": "application/json" }, body: "{" }],
      ["too large", "/api/v1/tokens", { method: "POST", headers: { ...bearer(ADMIN_TOKEN), "content-type": "application/json", "content-length": String(2 << 20) }, body: "x".repeat(2 << 20) }],
      ["no route", "/nope"],
      ["page", "/"],
      ["docs", "/swagger"],
      ["health", "/health"],
      ["head", "/health", { method: "HEAD" }],
    ];
    for (const [label, path, init] of cases) {
      const res = await kw.fetch(path, init);
      expect(secured(label, res)).toEqual(expected(label));
      await res.arrayBuffer();
    }
    expect(kw.handlers.running()).toBe(0);
  });

  test("a request counts as running from arrival to answer, whether the route answers at once, later, or throws", async () => {
    const handlers = countHandlers();
    const log = memoryLogger();
    const release = Promise.withResolvers<void>();
    const app = new Elysia()
      .use(requestEnvelope(requestObserver(log, new Metrics()), handlers))
      .use(errorHandling(log))
      .get("/now", () => "now")
      .get("/later", async () => {
        await release.promise;
        return "later";
      })
      .get("/broken", () => {
        throw new Error("boom");
      });
    expect((await app.handle(new Request("http://localhost/now"))).status).toBe(200);
    expect(handlers.running()).toBe(0);
    const later = app.handle(new Request("http://localhost/later"));
    expect(handlers.running()).toBe(1);
    expect(await handlers.idle(5)).toBe(false);
    release.resolve();
    expect((await later).status).toBe(200);
    expect(handlers.running()).toBe(0);
    const broken = await app.handle(new Request("http://localhost/broken"));
    expect(broken.status).toBe(500);
    expect(secured("500", broken)).toEqual(expected("500"));
    expect(handlers.running()).toBe(0);
  });

  test("a route's success headers reach a success only: an error raised after naming them carries none", async () => {
    const log = memoryLogger();
    const app = new Elysia()
      .use(requestEnvelope(requestObserver(log, new Metrics()), countHandlers()))
      .use(errorHandling(log))
      .get("/granted", ({ request }) => {
        headersOnSuccess(request, [["remote-user", "alice"]]);
        return "ok";
      })
      .get("/granted-then-broken", ({ request }) => {
        headersOnSuccess(request, [["remote-user", "alice"]]);
        throw new Error("after naming the user");
      });
    const granted = await app.handle(new Request("http://localhost/granted"));
    expect([granted.status, granted.headers.get("remote-user")]).toEqual([200, "alice"]);
    const broken = await app.handle(new Request("http://localhost/granted-then-broken"));
    expect([broken.status, broken.headers.get("remote-user")]).toEqual([500, null]);
  });
});

describe("routing under any Host", () => {
  test("a short host name routes on the whole path: nas/auth/forward is forward auth, x/public/auth/forward is no route", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const at = (url: string) => kw.app.handle(new Request(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    for (const host of ["nas", "x", "ab", "x:8", "keyward.home.lan"]) {
      const forward = await at(`http://${host}/auth/forward`);
      expect(`${host}: ${forward.status} ${forward.headers.get("remote-user")}`).toBe(`${host}: 200 admin`);
      const elsewhere = await at(`http://${host}/public/auth/forward`);
      expect(`${host}: ${elsewhere.status} ${elsewhere.headers.get("remote-user")}`).toBe(`${host}: 404 null`);
      const tokens = await at(`http://${host}/pub/api/v1/tokens`);
      expect(`${host}: ${tokens.status}`).toBe(`${host}: 404`);
    }
  });
});
