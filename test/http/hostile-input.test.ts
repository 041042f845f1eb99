import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { expectSafe, hostileIds, routesOf, storedStateOf } from "../helpers/hostile";

// In-process: what is refused and how is the app's doing. test/e2e/hostile-input.test.ts sends what
// the binary's HTTP layer handles itself (oversized bodies and headers, the decoding of path ids).
const server = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_MAX_FAILURES: "1000000", KEYWARD_OPEN_LOGIN: "true" });
let routes: { method: string; path: string }[];
let userToken: string;

beforeAll(async () => {
  const api = client(server);
  userToken = (await api.post("/api/v1/tokens", { user: "alice" })).body.token;
  await api.post("/api/v1/users", { username: "bob", password: "correct horse battery" });
  await api.post("/api/v1/tokens/main", { hardware_fingerprint: "fp-1" });
  const spec = (await api.get("/swagger/json")).body;
  routes = routesOf(spec);
});


const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const hostileBodies: [string, string, string | Blob][] = [
  ["malformed JSON", "application/json", '{"user": "alice",'],
  ["JSON null", "application/json", "null"],
  ["a JSON string", "application/json", '"just a string"'],
  ["deeply nested JSON", "application/json", nested(100_000)],
  ["NUL bytes", "application/json", '{"user":"al\\u0000ice","username":"b\\u0000","password":"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000","hardware_fingerprint":"\\u0000"}'],
  ["invalid UTF-8", "application/json", new Blob([new Uint8Array([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])])],
  ["SQL-looking strings", "application/json", JSON.stringify({ user: "x'; DROP TABLE tokens; --", username: "' OR '1'='1", password: "' OR '1'='1' --", role: "admin'--", hardware_fingerprint: "'); DELETE FROM devices; --" })],
  ["unicode names", "application/json", JSON.stringify({ user: "ユーザー", username: "Zoë‮", password: "pässwörd-ünïcode", role: "rôle" })],
  ["absurd durations", "application/json", JSON.stringify({ user: "carol", expires_in: "-99999999999d", grace: "9".repeat(400) + "d" })],
  ["wrong types", "application/json", JSON.stringify({ user: ["a"], password: 12, disabled: "yes", label: { x: 1 }, allowed_ips: "10.0.0.0/8" })],
  ["a form with odd fields", "application/x-www-form-urlencoded", "user=%00&id=%FF&token=%E2%80%AE&text=%00"],
  ["XML", "application/xml", "<user>alice</user>"],
  ["multipart garbage", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n--xy"],
  ["no content type", "", '{"user":"alice"}'],
];

/** Sends a request and checks it is answered safely; a refused request must leave storage as it was. */
async function sendRefusable(path: string, init: RequestInit, what: string): Promise<void> {
  const before = await storedStateOf(server.store.db);
  const res = await server.fetch(path, init);
  await expectSafe(res, what);
  if (res.status >= 400) expect(`${what}: ${(await storedStateOf(server.store.db)) === before ? "unchanged" : "changed"}`).toBe(`${what}: unchanged`);
}


describe("hostile requests against every route", () => {
  test("every body of the table, with and without an admin token, on every route: no 5xx, JSON errors, nothing stored changes", async () => {
    let sent = 0;
    for (const { method, path } of routes) {
      if (!["POST", "PUT", "PATCH", "DELETE"].includes(method)) continue;
      for (const [name, type, body] of hostileBodies) {
        for (const auth of [ADMIN_TOKEN, ""]) {
          const url = path.replace(/\{[^}]+\}/g, "tok_doesnotexist");
          const headers: Record<string, string> = type ? { "content-type": type } : {};
          if (auth) headers.authorization = `Bearer ${auth}`;
          await sendRefusable(url, { method, headers, body }, `${method} ${path} with ${name}`);
          sent++;
        }
      }
    }
    expect(sent).toBeGreaterThan(200);
  }, 60_000);

  test("a path id that cannot be decoded (%FF) is a 4xx in the error shape on every route with one, in-process too", async () => {
    let sent = 0;
    for (const { method, path } of routes) {
      if (!path.includes("{")) continue;
      const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
      const body = method === "GET" || method === "DELETE" ? undefined : JSON.stringify({ label: "x", grace: "1m" });
      const res = await server.fetch(path.replace(/\{[^}]+\}/g, "%FF%FE"), { method, headers, body });
      await expectSafe(res, `${method} ${path} with %FF%FE`);
      sent++;
    }
    expect(sent).toBeGreaterThanOrEqual(9);
  });

  test("every hostile path id (a NUL, which PostgreSQL's text refuses, SQL, a climb) on every route with one: a 4xx in the error shape, in-process too", async () => {
    let sent = 0;
    for (const { method, path } of routes) {
      if (!path.includes("{")) continue;
      for (const id of [...hostileIds, "tok_%00", "ses_a%00b", "dev_%00"]) {
        const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
        const body = method === "GET" || method === "DELETE" ? undefined : JSON.stringify({ label: "x", grace: "1m" });
        const res = await server.fetch(path.replace(/\{[^}]+\}/g, id), { method, headers, body });
        await expectSafe(res, `${method} ${path} with ${id.slice(0, 20)}`);
        sent++;
      }
    }
    expect(sent).toBeGreaterThanOrEqual(80);
  });

  test("overlong and odd tokens in every place a token goes: 401, never 5xx", async () => {
    for (const token of ["A".repeat(5000), "kw_" + "Z".repeat(5000), "a.b.c", "e30.e30.", "\u00ff\u00fe", " ", "Bearer"]) {
      for (const [path, init] of [
        ["/data", { headers: { authorization: `Bearer ${token}` } }],
        [`/data?token=${encodeURIComponent(token)}`, {}],
        ["/auth/forward", { headers: { cookie: `keyward_token=${encodeURIComponent(token)}` } }],
        ["/api/v1/me", { headers: { authorization: `Bearer ${token}`, "x-hardware-fingerprint": "fp-1" } }],
        [`/api/v1/tokens/verify?short_token=${encodeURIComponent(token)}&hardware_fingerprint=fp-1`, {}],
      ] as [string, RequestInit][]) {
        const res = await server.fetch(path, init).catch(() => null);
        if (res) await expectSafe(res, `${path.slice(0, 40)} with ${token.slice(0, 10)}`);
      }
    }
  });
});

describe("property-based: arbitrary input never breaks the server", () => {
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  const anyText = fc.string({ unit: "binary", maxLength: 300 });

  test("arbitrary JSON bodies to every POST and PATCH route", async () => {
    const writable = routes.filter((r) => r.method === "POST" || r.method === "PATCH");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...writable), anyJson, fc.boolean(), async (route, body, admin) => {
        await sendRefusable(
          route.path.replace(/\{[^}]+\}/g, "dev_missing"),
          {
            method: route.method,
            headers: { "content-type": "application/json", authorization: `Bearer ${admin ? ADMIN_TOKEN : userToken}` },
            body: JSON.stringify(body),
          },
          `${route.method} ${route.path}`,
        );
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  test("arbitrary field values for login, echo, enrollment and token creation", async () => {
    await fc.assert(
      fc.asyncProperty(anyText, anyText, anyText, async (a, b, c) => {
        for (const [path, body, auth] of [
          ["/login", { username: a, password: b }, ""],
          ["/echo", { id: a, token: b, text: c }, ""],
          ["/api/v1/tokens", { user: a, name: b, role: c, expires_in: c, allowed_ips: [a] }, ADMIN_TOKEN],
          ["/api/v1/users", { username: a, password: b, role: c }, ADMIN_TOKEN],
        ] as [string, Record<string, unknown>, string][]) {
          const res = await server.fetch(path, {
            method: "POST",
            headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
            body: JSON.stringify(body),
          });
          await expectSafe(res, path);
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  test("arbitrary Authorization headers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 600 }), async (value) => {
        const header = value.replace(/[^\x20-\x7e]/g, "");
        const res = await server.fetch("/data", { headers: { authorization: header } });
        expect([401, 429]).toContain(res.status);
        await res.arrayBuffer();
      }),
      { numRuns: 300 },
    );
  });
});
