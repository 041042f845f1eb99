import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { ADMIN_TOKEN, client, formPost, jsonPost } from "../helpers/api";
import { startKeyward, type RunningServer } from "../helpers/server";

/** CI installs prometheus (.ci/run), whose promtool lints the exposition format; elsewhere the test is skipped without it. */
const PROMTOOL = "/usr/bin/promtool";
const hasPromtool = existsSync(PROMTOOL) || process.env.CI === "true";
setDefaultTimeout(20_000);

let server: RunningServer;
let scraper: string;

beforeAll(async () => {
  if (!hasPromtool) return;
  server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "promtool-test-secret-0123456789abcdef" } });
  scraper = (await client(server).post("/api/v1/tokens", { user: "prometheus", role: "metrics" })).body.token;
});
afterAll(() => server?.stop());

/** promtool's verdict on a scrape: its exit code and everything it printed (lint problems go to stderr). */
async function promtool(scrape: string) {
  const proc = Bun.spawn([PROMTOOL, "check", "metrics"], { stdin: new Blob([scrape]), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, printed: (stdout + stderr).trim() };
}

const scrape = async () => {
  const res = await client(server, scraper).get<string>("/metrics");
  expect(res.status).toBe(200);
  return res.body;
};

describe.skipIf(!hasPromtool)("promtool check metrics on a real scrape", () => {
  test("a fresh server's scrape, with families that have no series yet, is clean", async () => {
    expect(await promtool(await scrape())).toEqual({ code: 0, printed: "" });
  });

  test("after successes, failures, 404s, a device enrollment, an introspection and a login, it is clean", async () => {
    const alice = (await client(server).post("/api/v1/tokens", { user: "alice" })).body;
    await client(server, alice.token).get("/data");
    await client(server, "kw_not-a-token").get("/data");
    await client(server, "").get("/api/v1/me");
    await client(server, alice.token).get("/api/v1/tokens");
    await server.fetch("/no/such/route");
    await server.fetch("/login", formPost({ username: "nobody", password: "wrong password here" }));
    const enrolled = await server.fetch("/api/v1/tokens/main", jsonPost({ hardware_fingerprint: "fp-promtool" }));
    expect(enrolled.status).toBe(201);
    const introspected = await server.fetch("/oauth/introspect", formPost({ token: alice.token }, { authorization: `Bearer ${ADMIN_TOKEN}` }));
    expect(introspected.status).toBe(200);

    const text = await scrape();
    // The traffic is in the scrape, so promtool has every kind of series to judge.
    for (const series of ['route="unmatched",status="404"', 'outcome="failure",reason="insufficient_role"', 'outcome="success",reason="api"', "keyward_http_request_duration_seconds_bucket", 'keyward_devices{status="active"} 1']) {
      expect(text).toContain(series);
    }
    expect(await promtool(text)).toEqual({ code: 0, printed: "" });
  });

  test("promtool is strict enough to matter: it fails a counter without _total and a metric without help", async () => {
    const verdict = await promtool("# TYPE keyward_requests counter\nkeyward_requests 1\n");
    expect(verdict.code).not.toBe(0);
    expect(verdict.printed).toContain('counter metrics should have "_total" suffix');
    expect(verdict.printed).toContain("no help text");
  });
});
