import { describe, expect, test } from "bun:test";
import { syncEnvTokens } from "../../src/modules/tokens/env-tokens";
import { listTokens } from "../../src/modules/tokens/service";
import { TokenVerifier } from "../../src/modules/tokens/verifier";
import { addUser, removeUser } from "../../src/modules/users/service";
import { inProcessApp } from "../helpers/app";
import { memoryStore, atOnce } from "../helpers/database";

const ANALYST = "9b34c5e6a7d8f1e2b3c4a5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6";
const ADMIN = "6a12a1f2250df9edcea50e7b00b30142f353749c1965960770a32ed2e61d3c64";
const actor = { name: "test" };

async function server(env: Record<string, string>) {
  const { app } = await inProcessApp(env);
  const call = (token: string, method: string, path: string, body?: unknown) =>
    app.handle(
      new Request(`http://localhost${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  return { call, me: async (token: string) => (await call(token, "GET", "/api/v1/me")).status };
}

describe("environment tokens obey accounts", () => {
  test("an API_TOKENS token whose account is disabled gets 401; enabled again, it works", async () => {
    const { call, me } = await server({ API_TOKENS: `analyst:${ANALYST}`, KEYWARD_ADMIN_TOKEN: ADMIN });
    expect(await me(ANALYST)).toBe(200);
    expect((await call(ADMIN, "POST", "/api/v1/users", { username: "analyst", password: "correct horse battery" })).status).toBe(201);
    expect(await me(ANALYST)).toBe(200);
    expect((await call(ADMIN, "PATCH", "/api/v1/users/analyst", { disabled: true })).status).toBe(200);
    expect(await me(ANALYST)).toBe(401);
    expect((await call(ADMIN, "PATCH", "/api/v1/users/analyst", { disabled: false })).status).toBe(200);
    expect(await me(ANALYST)).toBe(200);
  });

  test("KEYWARD_ADMIN_TOKEN obeys an account named admin the same way", async () => {
    const { call, me } = await server({ KEYWARD_ADMIN_TOKEN: ADMIN });
    expect((await call(ADMIN, "POST", "/api/v1/users", { username: "admin", password: "correct horse battery", role: "admin" })).status).toBe(201);
    expect((await call(ADMIN, "PATCH", "/api/v1/users/admin", { disabled: true })).status).toBe(200);
    expect(await me(ADMIN)).toBe(401);
  });

  test("removing the account revokes its API_TOKENS entry, and a restart with the same value does not undo it", async () => {
    const store = memoryStore();
    const settings = { adminToken: null, apiTokens: [{ label: "analyst", token: ANALYST }] };
    await syncEnvTokens(store, settings);
    await addUser(store, { username: "analyst", password: "correct horse" }, actor);
    await removeUser(store, "analyst", actor);
    expect(atOnce(new TokenVerifier(store, new Set()).verify(ANALYST, null))).toMatchObject({ ok: false });

    const restarted = await syncEnvTokens(store, settings);
    expect(restarted.refused).toEqual(["API_TOKENS #1 (user removed)"]);
    expect(atOnce(new TokenVerifier(store, restarted.hashes).verify(ANALYST, null))).toMatchObject({ ok: false, reason: "revoked" });

    const replaced = await syncEnvTokens(store, { adminToken: null, apiTokens: [{ label: "analyst", token: ADMIN }] });
    expect(replaced.refused).toEqual([]);
    expect(atOnce(new TokenVerifier(store, replaced.hashes).verify(ADMIN, null))).toMatchObject({ ok: true, principal: { user: "analyst" } });
  });

  test("a value taken out of the environment and put back works again", async () => {
    const store = memoryStore();
    const settings = { adminToken: null, apiTokens: [{ label: "analyst", token: ANALYST }] };
    await syncEnvTokens(store, settings);
    await syncEnvTokens(store, { adminToken: null, apiTokens: [] });
    const back = await syncEnvTokens(store, settings);
    expect(atOnce(new TokenVerifier(store, back.hashes).verify(ANALYST, null)).ok).toBe(true);
  });
});

describe("environment token hints", () => {
  test("say where the value is configured, never a character of the operator's secret", async () => {
    const store = memoryStore();
    await syncEnvTokens(store, { adminToken: ADMIN, apiTokens: [{ label: "analyst", token: ANALYST }, { label: null, token: "z".repeat(40) }] });
    const hints = (await listTokens(store.db, {})).items.map((row) => row.hint).sort();
    expect(hints).toEqual(["API_TOKENS #1", "API_TOKENS #2", "KEYWARD_ADMIN_TOKEN"]);
    for (const hint of hints) expect(hint).not.toMatch(/z|3c64|e5f6/);
  });

  test("an older build's hint (the secret's last characters) is rewritten at the next start, retired values included", async () => {
    const store = memoryStore();
    await syncEnvTokens(store, { adminToken: ADMIN, apiTokens: [{ label: "analyst", token: ANALYST }] });
    store.sqlite.run("UPDATE tokens SET hint = CASE name WHEN 'API_TOKENS' THEN '…e5f6' ELSE '…3c64' END");
    await syncEnvTokens(store, { adminToken: ADMIN, apiTokens: [] });
    expect((await listTokens(store.db, {})).items.map((row) => row.hint).sort()).toEqual(["API_TOKENS", "KEYWARD_ADMIN_TOKEN"]);
  });
});

describe("seed 001: an API_TOKENS label spelled like a role is also the role", () => {
  // Distinct strong values, one per entry, so each row reads as label → what a proxied service sees.
  const value = (n: number) => `${n}`.padStart(2, "0") + ANALYST.slice(2);
  test.each([
    ["analyst", "analyst", "analyst"],
    ["Viewer", "viewer", "viewer"],
    ["resource-server", "resource-server", "resource-server"],
    ["admin", "admin", "admin"],
    ["device (reserved for device tokens)", "device", "user"],
    ["alice@example.com (no role is spelled so)", "alice@example.com", "user"],
    ["none (a bare value)", "env-1", "user"],
  ])("label %s → Remote-User %s, Remote-Groups %s from /auth/forward", async (label, user, role) => {
    const entry = label.startsWith("none") ? value(1) : `${label.split(" ")[0]}:${value(1)}`;
    const { call } = await server({ API_TOKENS: entry, KEYWARD_ADMIN_TOKEN: ADMIN });
    const res = await call(value(1), "GET", "/auth/forward");
    expect(res.status).toBe(200);
    expect([res.headers.get("remote-user"), res.headers.get("remote-groups")]).toEqual([user, role]);
  });

  test("seed 001's three-entry list: only the admin entry manages Keyward", async () => {
    const { call } = await server({ API_TOKENS: `admin:${value(1)},analyst:${value(2)},viewer:${value(3)}` });
    expect((await call(value(1), "GET", "/api/v1/tokens")).status).toBe(200);
    expect((await call(value(2), "GET", "/api/v1/tokens")).status).toBe(403);
    expect((await call(value(3), "GET", "/api/v1/tokens")).status).toBe(403);
    expect((await call(value(2), "GET", "/auth/forward?role=analyst")).status).toBe(200);
    expect((await call(value(3), "GET", "/auth/forward?role=analyst")).status).toBe(403);
  });
});
