import { describe, expect, test } from "bun:test";
import { DomainError } from "../../src/lib/errors";
import { listAudit } from "../../src/modules/audit/service";
import { resolveConfig } from "../../src/config-load";
import type { Store } from "../../src/db/client";
import { issueLoginToken } from "../../src/modules/login/service";
import { createServices } from "../../src/services";
import { issueToken, listTokens } from "../../src/modules/tokens/service";
import { TokenVerifier } from "../../src/modules/tokens/verifier";
import { addUser, getUser, listUsers, removeUser, updateUser } from "../../src/modules/users/service";
import { memoryStore, atOnce } from "../helpers/database";
import { memoryLogger } from "../helpers/memory-log";

const actor = { name: "admin", ip: "10.0.0.1" };

/** Logs in through the authentication core, as POST /login does: the issued token, or null. */
async function login(store: Store, credentials: { name?: string; password?: string }, openLogin = false) {
  const config = { ...resolveConfig({ flags: {}, env: {}, dotenv: {} }), openLogin };
  const { core } = await createServices(store, config, memoryLogger());
  const decision = await core.login({ ...credentials, ip: actor.ip });
  return decision.ok ? await issueLoginToken(store, decision, 3_600_000, actor) : null;
}

async function failure(run: () => Promise<unknown> | unknown): Promise<DomainError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("accounts", () => {
  test("a user is stored with an argon2id hash, never the password", async () => {
    const store = memoryStore();
    const { db, sqlite } = store;
    const row = await addUser(store, { username: "Alice", password: "correct horse", role: "analyst" }, actor);
    expect(row).toMatchObject({ username: "alice", role: "analyst", disabled: false });
    expect(row.passwordHash).toStartWith("$argon2id$");
    expect(JSON.stringify(sqlite.query("SELECT * FROM users").all())).not.toContain("correct horse");
    expect((await listAudit(db, { limit: 1 })).items[0]).toMatchObject({ action: "user.created", user: "alice" });
  });

  test("names are unique whatever their case", async () => {
    const store = memoryStore();
    await addUser(store, { username: "alice", password: "correct horse" }, actor);
    expect(await failure(() => addUser(store, { username: "ALICE", password: "another one" }, actor))).toMatchObject({ kind: "conflict", code: "user_exists" });
  });

  test.each([
    ["a short password", { username: "bob", password: "short" }, "weak_password"],
    ["a bad name", { username: "bob smith", password: "long enough" }, "invalid_user"],
    ["a bad role", { username: "bob", password: "long enough", role: "Super User" }, "invalid_role"],
  ])("refuses %s and stores nothing", async (_, input, code) => {
    const store = memoryStore();
    const { db } = store;
    expect((await failure(() => addUser(store, input, actor))).code).toBe(code);
    expect((await listUsers(db)).items).toEqual([]);
  });

  test("disabling refuses all the user's tokens; enabling restores them", async () => {
    const store = memoryStore();
    const { db } = store;
    await addUser(store, { username: "carol", password: "correct horse" }, actor);
    const { token } = await issueToken(store, { user: "carol", lifetimeMs: 3_600_000, source: "api" }, actor);
    const verifier = new TokenVerifier(store);
    expect(atOnce(verifier.verify(token, () => "10.0.0.2")).ok).toBe(true);
    await updateUser(store, "carol", { disabled: true }, actor);
    expect(atOnce(verifier.verify(token, () => "10.0.0.2"))).toMatchObject({ ok: false, reason: "disabled" });
    await updateUser(store, "carol", { disabled: false }, actor);
    expect(atOnce(verifier.verify(token, () => "10.0.0.2")).ok).toBe(true);
  });

  test("a new password ends login sessions but leaves API tokens", async () => {
    const store = memoryStore();
    const { db } = store;
    await addUser(store, { username: "dave", password: "first password" }, actor);
    const session = await login(store, { name: "dave", password: "first password" });
    await issueToken(store, { user: "dave", lifetimeMs: null, source: "api" }, actor);
    await updateUser(store, "dave", { password: "second password" }, actor);
    const active = (await listTokens(db, { user: "dave", active: true })).items;
    expect(active.map((t) => t.source)).toEqual(["api"]);
    expect((await listTokens(db, { user: "dave" })).items.find((t) => t.id === session!.row.id)?.revokeReason).toBe("password or role changed");
    expect(await login(store, { name: "dave", password: "first password" })).toBeNull();
    expect(await login(store, { name: "dave", password: "second password" })).not.toBeNull();
  });

  test("removing a user revokes all their tokens", async () => {
    const store = memoryStore();
    const { db } = store;
    await addUser(store, { username: "erin", password: "correct horse" }, actor);
    await issueToken(store, { user: "erin", lifetimeMs: null, source: "api" }, actor);
    await removeUser(store, "erin", actor);
    expect((await listTokens(db, { user: "erin", active: true })).items).toEqual([]);
    expect((await failure(() => getUser(db, "erin"))).kind).toBe("not_found");
  });
});

describe("logging in", () => {
  test("the right password gives a login token with the account's role and the login lifetime", async () => {
    const store = memoryStore();
    const { db } = store;
    await addUser(store, { username: "frank", password: "correct horse", role: "viewer" }, actor);
    const now = Date.now();
    const issued = await login(store, { name: "Frank", password: "correct horse" });
    expect(issued?.row).toMatchObject({ user: "frank", role: "viewer", source: "login" });
    expect(issued!.row.expiresAt!.getTime() - now).toBeGreaterThanOrEqual(3_600_000 - 1000);
  });

  test.each([
    ["a wrong password", { name: "gina", password: "wrong horse" }],
    ["no password", { name: "gina" }],
    ["an empty password", { name: "gina", password: "" }],
    ["an unknown user", { name: "nobody", password: "correct horse" }],
    ["no name", { password: "correct horse" }],
    ["a name that is not a name", { name: "'; DROP TABLE users; --", password: "x" }],
  ])("%s gets nothing", async (_, credentials) => {
    const store = memoryStore();
    const { db } = store;
    await addUser(store, { username: "gina", password: "correct horse" }, actor);
    expect(await login(store, credentials)).toBeNull();
    expect((await listTokens(db, {})).items).toEqual([]);
  });

  test("a login whose password changed (or whose account was disabled) during its check gets no token", async () => {
    const store = memoryStore();
    await addUser(store, { username: "alice", password: "correct horse" }, actor);
    const config = resolveConfig({ flags: {}, env: {}, dotenv: {} });
    const { core } = await createServices(store, config, memoryLogger());
    const checked = await core.login({ name: "alice", password: "correct horse", ip: actor.ip });
    if (!checked.ok) throw new Error("the login should pass");
    await updateUser(store, "alice", { password: "battery staple" }, actor);
    expect(await issueLoginToken(store, checked, 3_600_000, actor)).toBeNull();

    const again = await core.login({ name: "alice", password: "battery staple", ip: actor.ip });
    if (!again.ok) throw new Error("the login should pass");
    await updateUser(store, "alice", { disabled: true }, actor);
    expect(await issueLoginToken(store, again, 3_600_000, actor)).toBeNull();
    await updateUser(store, "alice", { disabled: false }, actor);
    expect((await issueLoginToken(store, again, 3_600_000, actor))?.row).toMatchObject({ user: "alice", source: "login" });
    expect((await listTokens(store.db, {})).items.filter((token) => token.source === "login")).toHaveLength(1);
  });

  test("a disabled account cannot log in", async () => {
    const store = memoryStore();
    const { db } = store;
    await addUser(store, { username: "hank", password: "correct horse" }, actor);
    await updateUser(store, "hank", { disabled: true }, actor);
    expect(await login(store, { name: "hank", password: "correct horse" })).toBeNull();
  });

  test("open login gives a user token to a name that is not an account, and never to an account", async () => {
    const store = memoryStore();
    const { db } = store;
    await addUser(store, { username: "root", password: "correct horse", role: "admin" }, actor);
    expect((await login(store, { name: "user@email.com" }, true))?.row).toMatchObject({ user: "user@email.com", role: "user", source: "lab" });
    expect(await login(store, { name: "root" }, true)).toBeNull();
    expect(await login(store, { name: "someone" })).toBeNull();
  });
});
