import { describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import fc from "fast-check";
import { checksAsked, readQuery } from "../../src/modules/forward-auth/checks";

// Elysia reading a query declared as the forward-auth routes' query once was: the reference.
const elysia = new Elysia().get("/auth/forward", ({ query }) => ({ role: query.role ?? null, scoped: query.scope !== undefined }), {
  query: t.Object({ role: t.Optional(t.String()), scope: t.Optional(t.String()) }),
});
const asElysiaReads = async (request: Request) => (await (await elysia.handle(request)).json()) as { role: string | null; scoped: boolean };

const piece = fc.oneof(
  fc.constantFrom("role", "scope", "ro%6Ce", "sc%6Fpe", "r+ole", "ROLE", "roles", "scope[]", "%", "%2", "%ZZ", "%C3%28", "%E2%82%AC", "%00", "+", "=", "&", "admin", "user", "nas", ","),
  fc.string({ maxLength: 6 }),
);
const freeform = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(""));
// key=value pairs, so that escapes and `+` often meet inside one key or value.
const pair = fc
  .tuple(fc.constantFrom("role", "scope", "ro%6Ce", "r+ole", "x", ""), fc.constantFrom("=", "", "=="), fc.array(piece, { maxLength: 5 }))
  .map(([key, equals, value]) => `${key}${equals}${value.join("")}`);
const query = fc.oneof(freeform, fc.array(pair, { maxLength: 5 }).map((pairs) => pairs.join("&")));

describe("forward auth reads its own query as Elysia did", () => {
  test("role and scope, for any query string: the last role, scope present or not", async () => {
    await fc.assert(
      fc.asyncProperty(query, async (text) => {
        const request = new Request(`http://localhost/auth/forward?${text}`);
        const ours = readQuery(request.url);
        const theirs = await asElysiaReads(request);
        expect({ role: ours?.role ?? null, scoped: ours?.scoped ?? false }).toEqual(theirs);
      }),
      { numRuns: 2_000 },
    );
  });

  const cases: [string, unknown][] = [
    ["", { ok: true, roles: [], scopes: undefined }],
    ["?", { ok: true, roles: [], scopes: undefined }],
    ["?role=admin,user", { ok: true, roles: ["admin", "user"], scopes: undefined }],
    // Neither is read as less than the proxy meant: a repeated list, or one that names no role.
    ["?role=admin&role=user", { ok: false, code: "invalid_role" }],
    ["?role=admin&ro%6Ce=user", { ok: false, code: "invalid_role" }],
    ["?role=", { ok: false, code: "invalid_role" }],
    ["?role", { ok: false, code: "invalid_role" }],
    ["?role=%20,+,", { ok: false, code: "invalid_role" }],
    ["?x=1&role=&scope=nas", { ok: false, code: "invalid_role" }],
    ["?role=Admin,%20User", { ok: true, roles: ["admin", "user"], scopes: undefined }],
    ["?scope=nas&scope=backup:read", { ok: true, roles: [], scopes: ["nas", "backup:read"] }],
    ["?roles=admin", { ok: false, code: "invalid_query" }],
    // A misspelling is judged as Elysia decodes the key, spacing and invisible characters aside.
    ...["%52ole", "rol%65s", "%72ole[]", "role%20", "role+", "%09role", "role%00", "%E2%80%8Brole", "%53cope", "scope%20", "scope%5B%5D"].map(
      (key): [string, unknown] => [`?${key}=admin`, { ok: false, code: "invalid_query" }],
    ),
    ["?rd=https%3A%2F%2Fwiki.home.lan%2F&rolex=1&myscope=x", { ok: true, roles: [], scopes: undefined }],
    [`?role=${"a".repeat(201)}&roles=x`, { ok: false, code: "invalid_role" }],
    ["?scope=", { ok: false, code: "invalid_scope" }],
  ];
  test.each(cases)("%p", (text, expected) => {
    const checks = checksAsked(`http://localhost/auth/forward${text}`);
    const seen: unknown = checks.ok ? checks : { ok: false, code: checks.refusal.code };
    expect(seen).toEqual(expected);
  });
});
