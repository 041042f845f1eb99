import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { pathOf } from "../../src/http/log-redaction";
import { requestEnvelope } from "../../src/http/envelope";
import { requestObserver } from "../../src/http/request-observer";
import { countHandlers } from "../../src/shutdown";
import { Metrics } from "../../src/modules/metrics/registry";
import { errorHandling } from "../../src/http/errors";
import { memoryLogger } from "../helpers/memory-log";
import { until } from "../helpers/until";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

describe("the request observer (access log and metrics)", () => {
  test("names who made each request, never the token: a token's user on the hot routes and on admin routes, nobody for a refusal", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const { token } = (await client(kw).post("/api/v1/tokens", { user: "alice" })).body as { token: string };
    const enrolled = await kw.fetch("/api/v1/tokens/main", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hardware_fingerprint: "fp-1" }) });
    const { main_token } = (await enrolled.json()) as { main_token: string };
    const bearer = (value: string) => ({ headers: { authorization: `Bearer ${value}` } });
    for (const path of ["/data", "/api/v1/me", "/auth/forward", "/auth/request"]) expect((await kw.fetch(path, bearer(token))).status).toBe(200);
    expect((await kw.fetch("/data", { headers: { authorization: `Bearer ${main_token}`, "x-hardware-fingerprint": "fp-1" } })).status).toBe(200);
    expect((await kw.fetch("/data", bearer("kw_not_a_token"))).status).toBe(401);
    const lines = () => kw.log.lines.filter((line) => line.msg === "request");
    await until(() => lines().length >= 8, "eight request lines");
    expect(lines().map(({ method, path, user }) => `${method} ${path} ${user}`)).toEqual([
      "POST /api/v1/tokens admin",
      "POST /api/v1/tokens/main undefined",
      "GET /data alice",
      "GET /api/v1/me alice",
      "GET /auth/forward alice",
      "GET /auth/request alice",
      expect.stringMatching(/^GET \/data dev_/),
      "GET /data undefined",
    ]);
    expect(JSON.stringify(kw.log.lines)).not.toContain(token);
  });

  test("writes one line per request with method, path, status and milliseconds, and counts it by route", async () => {
    const log = memoryLogger();
    const metrics = new Metrics();
    const app = new Elysia().use(requestEnvelope(requestObserver(log, metrics), countHandlers())).use(errorHandling(log)).get("/ok", () => "fine");
    await app.handle(new Request("http://localhost/ok?token=kw_should_not_appear"));
    await app.handle(new Request("http://localhost/missing"));
    const requests = () => log.lines.filter((l) => l.msg === "request");
    await until(() => requests().length >= 2, "two request lines");
    expect(requests()).toHaveLength(2);
    const [first, second] = requests();
    expect(first).toMatchObject({ level: "info", method: "GET", path: "/ok", status: 200 });
    expect(first!.ms).toBeNumber();
    expect(second).toMatchObject({ path: "/missing", status: 404 });
    expect(JSON.stringify(log.lines)).not.toContain("kw_should_not_appear");
    const scraped = metrics.render([]);
    expect(scraped).toContain('keyward_http_requests_total{method="GET",route="/ok",status="200"} 1');
    expect(scraped).toContain('keyward_http_requests_total{method="GET",route="unmatched",status="404"} 1');
  });

  test("times each request from its arrival", async () => {
    const log = memoryLogger();
    const app = new Elysia().use(requestEnvelope(requestObserver(log, new Metrics()), countHandlers())).get("/slow", async () => {
      await Bun.sleep(20);
      return "done";
    });
    await app.handle(new Request("http://localhost/slow"));
    await until(() => log.lines.some((l) => l.msg === "request"), "the request line");
    expect(log.lines.find((l) => l.msg === "request")?.ms).toBeGreaterThanOrEqual(19);
  });

  test.each([
    ["http://h:8000/a/b?token=x", "/a/b"],
    ["http://h/", "/"],
    ["http://h", "/"],
    ["https://[::1]:8443/x?", "/x"],
    ["http://h/p%20q?x=/y", "/p%20q"],
  ])("pathOf(%s) is %s", (url, path) => {
    expect(pathOf(url)).toBe(path);
  });
});
