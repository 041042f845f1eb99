import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { scopedApp } from "../helpers/scopes";

const ROUTES = ["/auth/forward", "/auth/request"] as const;

interface Case {
  name: string;
  /** The token's scopes (and role), as created. */
  scopes: string[];
  role?: string;
  query: string;
  status: 200 | 403;
  code?: "insufficient_scope" | "insufficient_role";
}

const cases: Case[] = [
  { name: "no ?scope=: no check, as before scopes", scopes: ["nas"], query: "", status: 200 },
  { name: "no ?scope=, a token without scopes: no check", scopes: [], query: "", status: 200 },
  { name: "the scope asked for", scopes: ["nas", "backup:read"], query: "scope=nas", status: 200 },
  { name: "a token without scopes fails any scope check", scopes: [], query: "scope=nas", status: 403, code: "insufficient_scope" },
  { name: "another scope", scopes: ["nas"], query: "scope=backup:read", status: 403, code: "insufficient_scope" },
  { name: "repeated: every one required, held", scopes: ["nas", "backup:read"], query: "scope=nas&scope=backup:read", status: 200 },
  { name: "repeated: one missing", scopes: ["nas"], query: "scope=nas&scope=backup:read", status: 403, code: "insufficient_scope" },
  { name: "space-separated (%20)", scopes: ["backup:read", "nas"], query: "scope=nas%20backup:read", status: 200 },
  { name: "space-separated (+)", scopes: ["nas", "backup:read"], query: "scope=nas+backup:read", status: 200 },
  { name: "space-separated, one missing", scopes: ["nas"], query: "scope=nas+backup:read", status: 403, code: "insufficient_scope" },
  { name: "an empty value beside a scope adds nothing", scopes: ["nas"], query: "scope=nas&scope=", status: 200 },
  { name: "a comma is part of a scope, not a list", scopes: ["a"], query: "scope=a,b", status: 403, code: "insufficient_scope" },
  { name: "a scope with a comma", scopes: ["a,b"], query: "scope=a,b", status: 200 },
  { name: "case counts", scopes: ["NAS"], query: "scope=nas", status: 403, code: "insufficient_scope" },
  { name: "a percent-encoded key is the same parameter", scopes: [], query: "%73cope=nas", status: 403, code: "insufficient_scope" },
  { name: "role and scope both held", scopes: ["nas"], role: "analyst", query: "role=analyst&scope=nas", status: 200 },
  { name: "the role is checked first", scopes: ["nas"], role: "analyst", query: "role=admin&scope=nas", status: 403, code: "insufficient_role" },
  { name: "the role held, the scope not", scopes: ["nas"], role: "analyst", query: "role=analyst,admin&scope=backup", status: 403, code: "insufficient_scope" },
];

describe.each(ROUTES)("%s ?scope= with a token", (route) => {
  test.each(cases)("$name: $status $code", async ({ scopes, role, query, status, code }) => {
    const kw = await scopedApp();
    const { token, id } = await kw.issue({ scopes, role });
    const res = await kw.fetch(`${route}?${query}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(status);
    const body = (await res.json()) as Record<string, string>;
    if (status === 200) {
      expect(body).toEqual({ user: "alice", role: role ?? "user", token_id: id });
      expect(res.headers.get("x-keyward-token-id")).toBe(id);
      return;
    }
    expect(body.code).toBe(code!);
    expect(res.headers.get("remote-user")).toBeNull();
    if (code === "insufficient_scope") {
      // RFC 6750 §3.1: the challenge names what was missing.
      const asked = new URLSearchParams(query).getAll("scope").join(" ");
      expect(body.error).toContain(asked);
      expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="keyward", error="insufficient_scope", scope="${asked}"`);
    }
  });
});

describe("the cost of a scope check", () => {
  test("a passing check asks for no client address: one lookup per usage flush, as with no check", async () => {
    const kw = await scopedApp();
    const { token } = await kw.issue({ scopes: ["nas"] });
    const bearer = { headers: { authorization: `Bearer ${token}` } };
    await kw.fetch("/auth/forward", bearer);
    await kw.flush();
    const before = kw.addressLookups();
    for (let i = 0; i < 50; i++) {
      const res = kw.app.handle(new Request("http://localhost/auth/forward?scope=nas", bearer));
      expect((await res).status).toBe(200);
    }
    expect(kw.addressLookups() - before).toBe(1);
  });
});

describe("scope refusals", () => {
  test("are audited and counted in /metrics, but never lock the address out", async () => {
    const kw = await scopedApp({ KEYWARD_MAX_FAILURES: "3" });
    const { token, id } = await kw.issue({ scopes: ["nas"] });
    for (let i = 0; i < 20; i++) {
      const res = await kw.fetch("/auth/forward?scope=backup", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(403);
    }
    expect((await kw.fetch("/auth/forward?scope=nas", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // A guess is still judged as a guess (401), not refused as from a locked-out address.
    expect(((await kw.fetch("/data", { headers: { authorization: "Bearer guess" } })).headers.get("retry-after"))).toBeNull();
    await kw.flush();
    const audit = await kw.admin.get("/api/v1/audit?action=auth.failed");
    expect(audit.body).toEqual(expect.arrayContaining([expect.objectContaining({ token_id: id, user: "alice", detail: "token insufficient_scope", count: 20 })]));
    expect(kw.metrics.render([])).toContain('keyward_authentications_total{outcome="failure",reason="insufficient_scope"} 20');
  });

  test("role refusals too: a valid token on a route for another role, over and over, locks no address out", async () => {
    const kw = await scopedApp({ KEYWARD_MAX_FAILURES: "3" });
    const { token, id } = await kw.issue();
    for (let i = 0; i < 10; i++) {
      expect((await kw.fetch("/auth/forward?role=admin", { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
      expect((await kw.fetch("/api/v1/users", { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    }
    // The environment's admin token is guessable text: from a locked-out address it would get 429.
    expect((await kw.admin.get("/api/v1/users")).status).toBe(200);
    expect(((await kw.fetch("/data", { headers: { authorization: "Bearer guess" } })).headers.get("retry-after"))).toBeNull();
    await kw.flush();
    const audit = await kw.admin.get("/api/v1/audit?action=auth.failed");
    expect(audit.body).toEqual(expect.arrayContaining([expect.objectContaining({ token_id: id, user: "alice", detail: "token insufficient_role", count: 20 })]));
  });

  test("a device token and an environment token carry no scopes: refused by any scope check", async () => {
    const kw = await scopedApp();
    const enrolled = await kw.fetch("/api/v1/tokens/main", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hardware_fingerprint: "fp-1" }) });
    const { main_token } = (await enrolled.json()) as { main_token: string };
    const device = { authorization: `Bearer ${main_token}`, "x-hardware-fingerprint": "fp-1" };
    expect((await kw.fetch("/auth/forward", { headers: device })).status).toBe(200);
    expect((await kw.fetch("/auth/forward?scope=nas", { headers: device })).status).toBe(403);
    expect((await kw.fetch("/auth/request?scope=nas", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(403);
    expect((await client(kw).get("/api/v1/me")).body.scopes).toEqual([]);
  });
});

describe("a hostile or broken ?scope=: a clean 403 invalid_scope, never 422, 429 or 5xx", () => {
  const odd: [string, string][] = [
    ["empty", "scope="],
    ["only spaces", "scope=%20%20"],
    ["a bare key", "scope"],
    ["fullwidth letters", `scope=${encodeURIComponent("ｎａｓ")}`],
    ["a Cyrillic look-alike", `scope=${encodeURIComponent("n\u0430s")}`],
    ["a right-to-left override", "scope=%E2%80%AEnas"],
    ["a NUL", "scope=nas%00"],
    ["a double quote", "scope=a%22b"],
    ["a backslash", "scope=a%5Cb"],
    ["a CR LF", "scope=nas%0D%0ASet-Cookie:x"],
    ["65 characters", `scope=${"x".repeat(65)}`],
    ["33 distinct scopes", Array.from({ length: 33 }, (_, i) => `scope=s${i}`).join("&")],
    ["a 20,000-character value", `scope=${"x".repeat(20_000)}`],
    ["invalid UTF-8", "scope=%C3%28"],
  ];
  test.each(odd)("%s", async (_, query) => {
    const kw = await scopedApp();
    const { token } = await kw.issue({ scopes: ["nas"] });
    for (const route of ROUTES) {
      const res = await kw.fetch(`${route}?${query}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("invalid_scope");
    }
  });

  test("repeated 1000 times: decided once per scope, in bounded time", async () => {
    const kw = await scopedApp();
    const scoped = await kw.issue({ scopes: ["nas"] });
    const plain = await kw.issue();
    const query = Array.from({ length: 1000 }, () => "scope=nas").join("&");
    const started = performance.now();
    for (const route of ROUTES) {
      expect((await kw.fetch(`${route}?${query}`, { headers: { authorization: `Bearer ${scoped.token}` } })).status).toBe(200);
      expect((await kw.fetch(`${route}?${query}`, { headers: { authorization: `Bearer ${plain.token}` } })).status).toBe(403);
    }
    expect(performance.now() - started).toBeLessThan(2000);
  });

  const misspelt = ["scopes=nas", "Scope=nas", "SCOPE=nas", "scope[]=nas", "scope%5B%5D=nas", "roles=admin", "Role=admin", "role[]=admin", "token=x&scopes=nas", "%52ole=admin", "role%20=admin"];
  // A role list that would check less than the proxy meant: none at all, or only its last part.
  const partial = ["role=", "role=admin&role=user", "role=user&role=", "role=%20,"];
  test.each([...misspelt.map((query) => [query, "invalid_query"]), ...partial.map((query) => [query, "invalid_role"])])(
    "a check the proxy got wrong (%s) is refused as its mistake (%s), never taken for less of a check",
    async (query, code) => {
      const kw = await scopedApp();
      const { token } = await kw.issue();
      for (const route of ROUTES) {
        const res = await kw.fetch(`${route}?${query}`, { headers: { authorization: `Bearer ${token}` } });
        expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([403, code]);
      }
    },
  );

  test("other parameters are none of Keyward's concern (a proxy may pass its own along)", async () => {
    const kw = await scopedApp();
    const { token } = await kw.issue();
    expect((await kw.fetch(`/auth/forward?myscope=x&rolex=1&scope=`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    expect((await kw.fetch(`/auth/forward?myscope=x&rolex=1`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test("no credential with a bad list is still told about the list (the proxy's mistake comes first, as with ?role=)", async () => {
    const kw = await scopedApp();
    const res = await kw.fetch("/auth/request?scope=", {});
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_scope");
  });
});
