import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, activeIntrospection, client } from "../helpers/api";
import { portalApp, proxied } from "../helpers/portal";
import { scopedApp } from "../helpers/scopes";

/** The portal on, alice signed in; her scopes set by the admin over the API. */
async function signedInApp() {
  const app = await portalApp();
  const setScopes = async (scopes: unknown, username = "alice") => {
    const res = await app.fetch(`/api/v1/users/${username}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ scopes }),
    });
    return { status: res.status, body: (await res.json()) as { scopes: string[]; code?: string } };
  };
  const { domain, console } = await app.signedIn();
  const forward = (query: string, route = "/auth/forward") => app.fetch(`${route}?${query}`, { headers: { cookie: `keyward_session=${domain}`, ...proxied } });
  const me = async () => (await (await app.fetch("/api/v1/me", { headers: { cookie: `__Host-keyward_console=${console}` } })).json()) as { source: string; scopes: string[] };
  return { ...app, setScopes, forward, me };
}

describe("an account's scopes, carried by its browser sessions", () => {
  test("a session without scopes fails any scope check, and passes when none is asked for", async () => {
    const app = await signedInApp();
    expect((await app.forward("")).status).toBe(200);
    for (const route of ["/auth/forward", "/auth/request"]) {
      const res = await app.forward("scope=nas", route);
      expect(res.status).toBe(403);
      expect(res.headers.get("location")).toBeNull();
      expect(((await res.json()) as { code: string }).code).toBe("insufficient_scope");
      // No Bearer challenge: a browser's session is no bearer token.
      expect(res.headers.get("www-authenticate")).toBeNull();
    }
  });

  test("a change is seen by an open session at once, and ends nothing", async () => {
    const app = await signedInApp();
    expect((await app.forward("scope=nas")).status).toBe(403);
    const set = await app.setScopes(["nas", "backup:read"]);
    expect([set.status, set.body.scopes]).toEqual([200, ["nas", "backup:read"]]);
    expect((await app.forward("scope=nas")).status).toBe(200);
    expect((await app.forward("scope=nas&scope=backup:read", "/auth/request")).status).toBe(200);
    expect((await app.forward("scope=backup:write")).status).toBe(403);
    expect(await app.me()).toMatchObject({ source: "session", scopes: ["nas", "backup:read"] });
    expect((await app.setScopes([])).body.scopes).toEqual([]);
    expect((await app.forward("scope=nas")).status).toBe(403);
    expect((await app.forward("")).status).toBe(200);
    expect((await app.rows()).every((row) => row.endedAt === null)).toBe(true);
  });

  test("role and scope together: the role is checked first", async () => {
    const app = await signedInApp();
    await app.setScopes(["nas"]);
    expect((await app.forward("role=user&scope=nas")).status).toBe(200);
    const wrongRole = await app.forward("role=admin&scope=nas");
    expect([wrongRole.status, ((await wrongRole.json()) as { code: string }).code]).toEqual([403, "insufficient_role"]);
    const wrongScope = await app.forward("role=user&scope=backup");
    expect([wrongScope.status, ((await wrongScope.json()) as { code: string }).code]).toEqual([403, "insufficient_scope"]);
  });

  test("shown in the user record and list, audited, validated like a token's", async () => {
    const app = await signedInApp();
    await app.setScopes(["nas"]);
    const users = (await client(app).get("/api/v1/users")).body as { username: string; scopes: string[] }[];
    expect(users.find((user) => user.username === "alice")?.scopes).toEqual(["nas"]);
    for (const bad of [["na s"], ["nas", "nas"], ["ｎａｓ"], "nas", Array.from({ length: 33 }, (_, i) => `s${i}`)]) {
      const res = await app.setScopes(bad);
      expect(res.status).toBe(422);
    }
    expect((await app.setScopes(["x"], "nobody")).status).toBe(404);
    await app.flush();
    const audit = (await client(app).get("/api/v1/audit?action=user.updated")).body as { detail: string }[];
    expect(audit.map((event) => event.detail)).toContain("scopes nas");
    expect((await app.forward("scope=nas")).status).toBe(200);
  });

  test("an account created with scopes has them from its first session", async () => {
    const app = await portalApp();
    const res = await client(app).post("/api/v1/users", { username: "bob", password: "correct horse battery", scopes: ["wiki"] });
    expect([res.status, res.body.scopes]).toEqual([201, ["wiki"]]);
  });
});

describe("introspection's scope", () => {
  test("the role, then the token's scopes, space-separated (RFC 7662); the role alone without scopes", async () => {
    const kw = await scopedApp();
    const rs = await kw.issue({ role: "resource-server" });
    const scoped = await kw.issue({ role: "analyst", scopes: ["nas", "backup:read"] });
    const plain = await kw.issue();
    const sameAsRole = await kw.issue({ role: "nas", scopes: ["nas", "wiki"] });
    const introspect = async (token: string) =>
      (await kw.fetch("/oauth/introspect", { method: "POST", headers: { authorization: `Bearer ${rs.token}`, "content-type": "application/x-www-form-urlencoded" }, body: `token=${token}` })).json();
    expect(await introspect(scoped.token)).toEqual({ ...activeIntrospection(scoped), scope: "analyst nas backup:read" });
    expect(await introspect(plain.token)).toEqual(activeIntrospection(plain));
    expect(((await introspect(sameAsRole.token)) as { scope: string }).scope).toBe("nas wiki");
  });
});
