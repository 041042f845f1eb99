import { describe, expect, test } from "bun:test";
import { parseScopes, requestedScopes } from "../../src/lib/scopes";
import { client } from "../helpers/api";
import { scopedApp } from "../helpers/scopes";

const EVERY_ALLOWED = "!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~";

describe("a token's scopes at creation", () => {
  test("kept as given, shown by create, show, list and /api/v1/me; none is []", async () => {
    const kw = await scopedApp();
    const scoped = await kw.issue({ scopes: ["nas", "backup:read", "a,b", EVERY_ALLOWED] });
    const plain = await kw.issue();
    expect(scoped.scopes).toEqual(["nas", "backup:read", "a,b", EVERY_ALLOWED]);
    expect(plain.scopes).toEqual([]);
    expect((await kw.admin.get(`/api/v1/tokens/${scoped.id}`)).body.scopes).toEqual(scoped.scopes);
    const listed = (await kw.admin.get("/api/v1/tokens?user=alice")).body as { id: string; scopes: string[] }[];
    expect(listed.map((row) => [row.id, row.scopes])).toEqual(expect.arrayContaining([[scoped.id, scoped.scopes], [plain.id, []]]));
    expect((await client(kw, scoped.token).get("/api/v1/me")).body).toMatchObject({ user: "alice", scopes: scoped.scopes });
    expect((await client(kw, plain.token).get("/api/v1/me")).body).toMatchObject({ user: "alice", scopes: [] });
    expect((await client(kw).get("/api/v1/me")).body).toMatchObject({ source: "env", scopes: [] });
  });

  test("an empty list is no scopes, and the rules allow exactly 32 scopes of 64 characters", async () => {
    const kw = await scopedApp();
    expect((await kw.issue({ scopes: [] })).scopes).toEqual([]);
    const most = Array.from({ length: 32 }, (_, i) => `${i}`.padEnd(64, "x"));
    expect((await kw.issue({ scopes: most })).scopes).toEqual(most);
  });

  const refused: [string, unknown][] = [
    ["a space inside", ["na s"]],
    ["a double quote", ['a"b']],
    ["a backslash", ["a\\b"]],
    ["an empty scope", [""]],
    ["65 characters", ["x".repeat(65)]],
    ["33 scopes", Array.from({ length: 33 }, (_, i) => `s${i}`)],
    ["the same scope twice", ["nas", "nas"]],
    ["a Cyrillic а in nas", ["n\u0430s"]],
    ["fullwidth ｎａｓ", ["ｎａｓ"]],
    ["a zero-width space", ["nas\u200b"]],
    ["a right-to-left override", ["\u202enas"]],
    ["an accented letter", ["café"]],
    ["a NUL", ["nas\u0000"]],
    ["a tab", ["nas\t"]],
    ["a DEL", ["nas\u007f"]],
    ["a lone surrogate", ["\ud800"]],
    ["a number", [7]],
    ["a string, not a list", "nas"],
    ["null", null],
    ["an object", { nas: true }],
    ["100,000 scopes", Array.from({ length: 100_000 }, (_, i) => `s${i}`)],
  ];
  test.each(refused)("%s: 422, never a 500, and nothing is created", async (_, scopes) => {
    const kw = await scopedApp();
    const res = await kw.admin.post("/api/v1/tokens", { user: "alice", scopes });
    expect(res.status).toBe(422);
    expect(["invalid_scopes", "validation_failed"]).toContain(res.body.code);
    expect((await kw.admin.get("/api/v1/tokens?user=alice")).body).toEqual([]);
  });

  test("the service refuses what the API schema might let through (the CLI calls it directly)", () => {
    for (const scopes of [["na s"], ["nas", "nas"], ["n\u0430s"], Array.from({ length: 33 }, (_, i) => `s${i}`), ["x".repeat(65)]]) {
      expect(() => parseScopes(scopes)).toThrow(expect.objectContaining({ code: "invalid_scopes" }));
    }
    expect(parseScopes([])).toBeNull();
    expect(parseScopes(undefined)).toBeNull();
  });
});

describe("rotation", () => {
  test("the successor carries the same scopes, and passes the same scope checks", async () => {
    const kw = await scopedApp();
    const old = await kw.issue({ scopes: ["nas", "backup:read"] });
    const rotated = await kw.admin.post(`/api/v1/tokens/${old.id}/rotate`, { grace: "1h" });
    expect(rotated.status).toBe(201);
    expect(rotated.body.scopes).toEqual(["nas", "backup:read"]);
    expect((await kw.admin.get(`/api/v1/tokens/${rotated.body.id}`)).body.scopes).toEqual(["nas", "backup:read"]);
    const forward = (token: string, query: string) => kw.fetch(`/auth/forward?${query}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await forward(rotated.body.token, "scope=nas&scope=backup:read")).status).toBe(200);
    expect((await forward(rotated.body.token, "scope=backup:write")).status).toBe(403);
    const plain = await kw.issue();
    const rotatedPlain = await kw.admin.post(`/api/v1/tokens/${plain.id}/rotate`, {});
    expect(rotatedPlain.body.scopes).toEqual([]);
  });
});

describe("the scopes a proxy asks for", () => {
  test.each([
    [["nas"], ["nas"]],
    [["nas backup:read"], ["nas", "backup:read"]],
    [["nas", "backup:read"], ["nas", "backup:read"]],
    [["  nas   nas ", "nas"], ["nas"]],
    [["a,b"], ["a,b"]],
    [Array.from({ length: 1000 }, () => "nas"), ["nas"]],
  ])("%j: all of %j required", (values, wanted) => {
    expect(requestedScopes(values)).toEqual(wanted);
  });

  test.each([[[""]], [[" "]], [["ｎａｓ"]], [["nas\u0000"]], [["x".repeat(65)]], [[Array.from({ length: 33 }, (_, i) => `s${i}`).join(" ")]], [["x".repeat(100_000)]]])(
    "%j: refused, not read as no check",
    (values) => {
      expect(requestedScopes(values)).toBeNull();
    },
  );
});
