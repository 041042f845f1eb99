import { describe, expect, test } from "bun:test";
import { generateToken } from "../../../src/lib/token-format";
import { issueToken, revokeToken } from "../../../src/modules/tokens/service";
import { syncEnvTokens } from "../../../src/modules/tokens/env-tokens";
import { TokenVerifier } from "../../../src/modules/tokens/verifier";
import { addUser, updateUser } from "../../../src/modules/users/service";
import { memoryStore } from "../../helpers/database";

const admin = { name: "test" };
const hour = 3_600_000;

function setup() {
  const store = memoryStore();
  const verifier = new TokenVerifier(store.db);
  const issue = (extra: Partial<Parameters<typeof issueToken>[1]> = {}) =>
    issueToken(store.db, { user: "alice", lifetimeMs: hour, source: "api", ...extra }, admin);
  return { store, verifier, issue };
}

describe("verifying a token", () => {
  test("a good token gives its principal", () => {
    const { verifier, issue } = setup();
    const { token, row } = issue({ role: "analyst" });
    const result = verifier.verify(token, "127.0.0.1");
    expect(result).toEqual({
      ok: true,
      principal: { user: "alice", role: "analyst", tokenId: row.id, source: "api", issuedAt: row.createdAt, expiresAt: row.expiresAt },
    });
  });

  test("a mistyped, overlong or foreign-shaped token is refused without touching the database", () => {
    const { store, verifier, issue } = setup();
    const { token } = issue();
    store.sqlite.close();
    // Any lookup would now throw: a clean answer proves none was made.
    expect(verifier.verify(`${token.slice(0, -1)}${token.endsWith("a") ? "b" : "a"}`, "127.0.0.1")).toEqual({ ok: false, reason: "malformed" });
    expect(verifier.verify("x".repeat(10_000), "127.0.0.1")).toEqual({ ok: false, reason: "malformed" });
    expect(verifier.verify("b3fa9d82acbe1d9e", "127.0.0.1")).toEqual({ ok: false, reason: "unknown" });
    expect(verifier.verify("", "127.0.0.1")).toEqual({ ok: false, reason: "malformed" });
  });

  test("an unknown token with a valid checksum is looked up and refused", () => {
    const { verifier } = setup();
    expect(verifier.verify(generateToken(), "127.0.0.1")).toMatchObject({ ok: false, reason: "unknown" });
  });

  test("expiry is checked against the clock on every call, even from the cache", () => {
    const { verifier, issue } = setup();
    const { token, row } = issue({ lifetimeMs: 60_000 });
    const created = row.createdAt.getTime();
    expect(verifier.verify(token, "127.0.0.1", created + 1000).ok).toBe(true);
    expect(verifier.verify(token, "127.0.0.1", created + 60_000)).toMatchObject({ ok: false, reason: "expired", tokenId: row.id });
  });

  test("a revocation by another process is seen once the cache entry is a second old", () => {
    const { store, verifier, issue } = setup();
    const { token, row } = issue();
    const now = Date.now();
    expect(verifier.verify(token, "127.0.0.1", now).ok).toBe(true);
    revokeToken(store.db, row.id, admin);
    expect(verifier.verify(token, "127.0.0.1", now + 999).ok).toBe(true);
    expect(verifier.verify(token, "127.0.0.1", now + 1000)).toMatchObject({ ok: false, reason: "revoked" });
  });

  test("forgetAll makes this process's own revocation effective at once", () => {
    const { store, verifier, issue } = setup();
    const { token, row } = issue();
    expect(verifier.verify(token, "127.0.0.1").ok).toBe(true);
    revokeToken(store.db, row.id, admin);
    verifier.forgetAll();
    expect(verifier.verify(token, "127.0.0.1")).toMatchObject({ ok: false, reason: "revoked" });
  });

  test("allowed IP ranges are enforced", () => {
    const { verifier, issue } = setup();
    const { token } = issue({ allowedIps: ["192.168.1.0/24", "fd00::/8"] });
    expect(verifier.verify(token, "192.168.1.77").ok).toBe(true);
    expect(verifier.verify(token, "fd00::5").ok).toBe(true);
    expect(verifier.verify(token, "192.168.2.1")).toMatchObject({ ok: false, reason: "ip_not_allowed" });
  });

  test("the cache stays within its capacity", () => {
    const { store } = setup();
    const verifier = new TokenVerifier(store.db, new Set(), 1000, 10);
    const tokens = Array.from({ length: 25 }, () => issueToken(store.db, { user: "bob", lifetimeMs: hour, source: "api" }, admin).token);
    for (const token of tokens) expect(verifier.verify(token, "127.0.0.1").ok).toBe(true);
    expect((verifier as unknown as { cache: Map<string, unknown> }).cache.size).toBe(10);
  });

  test("environment tokens are looked up like any token: their record's revocation and their account's state apply", async () => {
    const { store } = setup();
    const token = "6a12a1f2250df9edcea50e7b00b30142f353749c1965960770a32ed2e61d3c64";
    const { hashes } = syncEnvTokens(store.db, { adminToken: null, apiTokens: [{ label: "analyst", token }] });
    const verifier = new TokenVerifier(store.db, hashes, 0);
    expect(verifier.verify(token, "10.0.0.1")).toMatchObject({ ok: true, principal: { user: "analyst", source: "env" } });
    await addUser(store.db, { username: "analyst", password: "correct horse" }, admin);
    await updateUser(store.db, "analyst", { disabled: true }, admin);
    expect(verifier.verify(token, "10.0.0.1")).toMatchObject({ ok: false, reason: "disabled", user: "analyst" });
    await updateUser(store.db, "analyst", { disabled: false }, admin);
    expect(verifier.verify(token, "10.0.0.1").ok).toBe(true);
    expect(verifier.verify("some-other-unshaped-value", "10.0.0.1")).toMatchObject({ ok: false, reason: "unknown" });
  });
});
