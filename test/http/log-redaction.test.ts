import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { errorHandling } from "../../src/http/errors";
import { loggedPath, redactSecrets } from "../../src/http/log-redaction";
import { generateToken } from "../../src/lib/token-format";
import { inProcessApp } from "../helpers/app";
import { memoryLogger } from "../helpers/memory-log";
import { until } from "../helpers/until";

const ADMIN = "test-admin-token-0123456789abcdef";
const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJkZXZfMTIzIn0.c2lnbmF0dXJlLWJ5dGVz";
const shortToken = "Qm9vdHN0cmFwX3Rva2VuX2V4YW1wbGVf";

describe("paths as they are logged", () => {
  const token = generateToken();
  test.each([
    ["/api/v1/tokens", "/api/v1/tokens"],
    ["/api/v1/tokens/tok_7Hc2Lq9ZpX4mWn1R", "/api/v1/tokens/tok_7Hc2Lq9ZpX4mWn1R"],
    ["/api/v1/tokens/tok_7Hc2Lq9ZpX4mWn1R/rotate", "/api/v1/tokens/tok_7Hc2Lq9ZpX4mWn1R/rotate"],
    ["/api/v1/tokens/revoke", "/api/v1/tokens/revoke"],
    [`/api/v1/tokens/${token}`, "/api/v1/tokens/[redacted]"],
    [`/api/v1/tokens/${token}/rotate`, "/api/v1/tokens/[redacted]/rotate"],
    ["/api/v1/tokens/Sh0rt-Env-T0ken!", "/api/v1/tokens/[redacted]"],
    ["/api/v1/tokens//Sh0rt-Env-T0ken!", "/api/v1/tokens//[redacted]"],
    ["/api/v1/tokens/tok_3kTMd9QzLx0bWv7R/rotate", "/api/v1/tokens/tok_3kTMd9QzLx0bWv7R/rotate"],
    ["/api/v1/tokens/kw_mistyped", "/api/v1/tokens/[redacted]"],
    [`/anything/${jwt}`, "/anything/[redacted]"],
    [`/api/v1/devices/${shortToken}`, "/api/v1/devices/[redacted]"],
    ["/api/v1/devices/dev_7Hc2Lq9ZpX4mWn1R", "/api/v1/devices/dev_7Hc2Lq9ZpX4mWn1R"],
    ["/api/v1/users/alice", "/api/v1/users/alice"],
    ["/auth/forward/Q7xk2Lm9Pz4Rt8Vw3Ny6Bc", "/auth/forward/[redacted]"],
    ["/api/v1/tokens/qwertyuiopasdfghjklzxcvbnmqwertyp", "/api/v1/tokens/[redacted]"],
    ["/api/v1/tokens/mnbvcxzlkjhgfdsapoiuytrewqmnbvcx/rotate", "/api/v1/tokens/[redacted]/rotate"],
    ["/api/v1/tokens/verify", "/api/v1/tokens/verify"],
    ["/api/v1/tokens/main", "/api/v1/tokens/main"],
    [`/x/${"a".repeat(2000)}`, "/x/[redacted]"],
    ["/data", "/data"],
    ["/swagger/assets/swagger-ui-bundle.js", "/swagger/assets/swagger-ui-bundle.js"],
  ])("%s → %s", (path, logged) => {
    expect(loggedPath(`http://localhost${path}?token=${token}`)).toBe(logged);
  });

  test("error text loses any token it quotes", () => {
    const text = `Failed query: select * from tokens where x = ? params: ${generateToken()}, and a JWT ${jwt}`;
    expect(redactSecrets(text)).toBe("Failed query: select * from tokens where x = ? params: [redacted], and a JWT [redacted]");
  });
});

describe("no token in any log line", () => {
  test("a real token in the path of /api/v1/tokens/<token> (show, revoke, rotate) never reaches the log", async () => {
    const { app, log } = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN });
    const call = (method: string, path: string, body?: unknown) =>
      app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
    const { token } = (await (await call("POST", "/api/v1/tokens", { user: "alice" })).json()) as { token: string };
    expect((await call("GET", `/api/v1/tokens/${token}`)).status).toBe(200);
    const rotated = (await (await call("POST", `/api/v1/tokens/${token}/rotate`, { grace: "1h" })).json()) as { token: string };
    expect((await call("DELETE", `/api/v1/tokens/${token}`)).status).toBe(200);
    expect((await call("GET", `/api/v1/tokens/${rotated.token}?token=${rotated.token}`)).status).toBe(200);
    await until(() => log.lines.filter((line) => line.msg === "request").length >= 5, "five request lines");
    const requests = log.lines.filter((line) => line.msg === "request");
    expect(requests.map((line) => line.path)).toEqual([
      "/api/v1/tokens",
      "/api/v1/tokens/[redacted]",
      "/api/v1/tokens/[redacted]/rotate",
      "/api/v1/tokens/[redacted]",
      "/api/v1/tokens/[redacted]",
    ]);
    const everything = JSON.stringify(log.lines);
    for (const secret of [token, rotated.token, ADMIN]) expect(everything).not.toContain(secret);
  });

  test("the log line of a 500 has the redacted path, and its error text no token", async () => {
    const log = memoryLogger();
    const token = generateToken();
    const app = new Elysia().use(errorHandling(log)).get("/api/v1/tokens/:id", ({ params }) => {
      throw new Error(`lookup of ${params.id} failed`);
    });
    const res = await app.handle(new Request(`http://localhost/api/v1/tokens/${token}`));
    expect(res.status).toBe(500);
    const failed = log.lines.find((line) => line.msg === "request failed");
    expect(failed).toMatchObject({ path: "/api/v1/tokens/[redacted]", error: expect.stringContaining("lookup of [redacted] failed") });
    expect(JSON.stringify(log.lines)).not.toContain(token);
  });
});
