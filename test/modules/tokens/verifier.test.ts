import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupDatabase, restoreDatabase } from "../../../src/db/backup";
import { openDatabase, type Store } from "../../../src/db/client";
import { OTHER_CONNECTIONS_POLL_MS } from "../../../src/db/changes";
import { migrate } from "../../../src/db/migrate";
import { generateToken } from "../../../src/lib/token-format";
import { getToken, issueToken, revokeToken } from "../../../src/modules/tokens/service";
import { UsageTracker } from "../../../src/modules/tokens/usage";
import { syncEnvTokens } from "../../../src/modules/tokens/env-tokens";
import { TokenVerifier } from "../../../src/modules/tokens/verifier";
import { addUser, updateUser } from "../../../src/modules/users/service";
import { memoryStore, atOnce } from "../../helpers/database";
import { memoryLogger } from "../../helpers/memory-log";

const admin = { name: "test" };
const hour = 3_600_000;

function setup() {
  const store = memoryStore();
  const verifier = new TokenVerifier(store);
  const issue = async (extra: Partial<Parameters<typeof issueToken>[1]> = {}) =>
    await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api", ...extra }, admin);
  return { store, verifier, issue };
}

describe("verifying a token", () => {
  test("a good token gives its principal", async () => {
    const { verifier, issue } = await setup();
    const { token, row } = await issue({ role: "analyst" });
    const result = atOnce(verifier.verify(token, () => "127.0.0.1"));
    expect(result).toEqual({
      ok: true,
      principal: { user: "alice", role: "analyst", tokenId: row.id, source: "api", issuedAt: row.createdAt, expiresAt: row.expiresAt, scopes: [] },
    });
  });

  test("a mistyped, overlong or foreign-shaped token is refused without touching the database", async () => {
    const { store, verifier, issue } = await setup();
    const { token } = await issue();
    store.close();
    // Any lookup would now throw: a clean answer proves none was made.
    expect(atOnce(verifier.verify(`${token.slice(0, -1)}${token.endsWith("a") ? "b" : "a"}`, () => "127.0.0.1"))).toEqual({ ok: false, reason: "malformed" });
    expect(atOnce(verifier.verify("x".repeat(10_000), () => "127.0.0.1"))).toEqual({ ok: false, reason: "malformed" });
    expect(atOnce(verifier.verify("b3fa9d82acbe1d9e", () => "127.0.0.1"))).toEqual({ ok: false, reason: "unknown" });
    expect(atOnce(verifier.verify("", () => "127.0.0.1"))).toEqual({ ok: false, reason: "malformed" });
  });

  test("an unknown token with a valid checksum is looked up and refused", async () => {
    const { verifier } = await setup();
    expect(atOnce(verifier.verify(generateToken(), () => "127.0.0.1"))).toMatchObject({ ok: false, reason: "unknown" });
  });

  test("expiry is checked against the clock on every call, even from the cache", async () => {
    const { verifier, issue } = await setup();
    const { token, row } = await issue({ lifetimeMs: 60_000 });
    const created = row.createdAt.getTime();
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", created + 1000)).ok).toBe(true);
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", created + 60_000))).toMatchObject({ ok: false, reason: "expired", tokenId: row.id });
  });

  test("this process's own revocation is refused on the very next check", async () => {
    const { store, verifier, issue } = await setup();
    const { token, row } = await issue();
    const now = Date.now();
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now)).ok).toBe(true);
    await revokeToken(store, row.id, admin, new Date(now));
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now))).toMatchObject({ ok: false, reason: "revoked" });
  });

  test("this process's usage counts do not empty the cache", async () => {
    const { store, verifier, issue } = await setup();
    const { token, row } = await issue();
    const usage = new UsageTracker(store, memoryLogger());
    const now = Date.now();
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now)).ok).toBe(true);
    // Behind drizzle's back, so nothing tells the cache: only a cache emptied by the flush would see it.
    store.sqlite.run("UPDATE tokens SET revoked_at = ? WHERE id = ?", [now, row.id]);
    usage.received({ tokenId: row.id, source: "api", count: 1, minute: 0, lastUsedAt: now, lastIp: "127.0.0.1", listed: false });
    await usage.flush();
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now)).ok).toBe(true);
    expect((await getToken(store.db, row.id)).requestCount).toBe(1);
  });

  test("allowed IP ranges are enforced", async () => {
    const { verifier, issue } = await setup();
    const { token } = await issue({ allowedIps: ["192.168.1.0/24", "fd00::/8"] });
    expect(atOnce(verifier.verify(token, () => "192.168.1.77")).ok).toBe(true);
    expect(atOnce(verifier.verify(token, () => "fd00::5")).ok).toBe(true);
    expect(atOnce(verifier.verify(token, () => "192.168.2.1"))).toMatchObject({ ok: false, reason: "ip_not_allowed" });
  });

  test("the cache stays within its capacity", async () => {
    const { store } = await setup();
    const verifier = new TokenVerifier(store, new Set(), 10);
    const tokens: string[] = [];
    for (let i = 0; i < 25; i++) tokens.push((await issueToken(store, { user: "bob", lifetimeMs: hour, source: "api" }, admin)).token);
    for (const token of tokens) expect(atOnce(verifier.verify(token, () => "127.0.0.1")).ok).toBe(true);
    // A raw delete on the verifier's own connection tells no cache: what still verifies is what the cache kept.
    store.sqlite.run("DELETE FROM tokens");
    // Newest first, so a miss that caches its null does not push out an entry still to be checked.
    const stillKnown = tokens.toReversed().map((token) => atOnce(verifier.verify(token, () => "127.0.0.1")).ok);
    expect(stillKnown).toEqual([...Array(10).fill(true), ...Array(15).fill(false)]);
  });

  test("environment tokens are looked up like any token: their record's revocation and their account's state apply", async () => {
    const { store } = await setup();
    const token = "6a12a1f2250df9edcea50e7b00b30142f353749c1965960770a32ed2e61d3c64";
    const { hashes } = await syncEnvTokens(store, { adminToken: null, apiTokens: [{ label: "analyst", token }] });
    const verifier = new TokenVerifier(store, hashes);
    expect(atOnce(verifier.verify(token, () => "10.0.0.1"))).toMatchObject({ ok: true, principal: { user: "analyst", source: "env" } });
    await addUser(store, { username: "analyst", password: "correct horse" }, admin);
    await updateUser(store, "analyst", { disabled: true }, admin);
    expect(atOnce(verifier.verify(token, () => "10.0.0.1"))).toMatchObject({ ok: false, reason: "disabled", user: "analyst" });
    await updateUser(store, "analyst", { disabled: false }, admin);
    expect(atOnce(verifier.verify(token, () => "10.0.0.1")).ok).toBe(true);
    expect(atOnce(verifier.verify("some-other-unshaped-value", () => "10.0.0.1"))).toMatchObject({ ok: false, reason: "unknown" });
  });
});

describe("changes made by another connection to the same file", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function twoConnections() {
    const dir = mkdtempSync(join(tmpdir(), "keyward-verifier-"));
    dirs.push(dir);
    const path = join(dir, "keyward.db");
    const server = openDatabase(path);
    migrate(server);
    const cli = openDatabase(path);
    return { dir, server, cli, verifier: new TokenVerifier(server) };
  }

  const issueAt = (store: Store) => issueToken(store, { user: "alice", lifetimeMs: hour, source: "cli" }, admin);

  test("a revocation by the CLI is refused within a second", async () => {
    const { server, cli, verifier } = twoConnections();
    const { token, row } = await issueAt(cli);
    const now = Date.now();
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now)).ok).toBe(true);
    await revokeToken(cli, row.id, admin, new Date(now));
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now + 1)).ok).toBe(true);
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now + OTHER_CONNECTIONS_POLL_MS))).toMatchObject({ ok: false, reason: "revoked" });
    expect(OTHER_CONNECTIONS_POLL_MS).toBeLessThanOrEqual(1000);
    server.close();
    cli.close();
  });

  test("a restore made by the CLI is seen within a second", async () => {
    const { dir, server, cli, verifier } = twoConnections();
    const before = join(dir, "before.db");
    backupDatabase(cli, before);
    const { token } = await issueAt(cli);
    const now = Date.now();
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now)).ok).toBe(true);
    await restoreDatabase(cli, before, { now: new Date(now) });
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now + OTHER_CONNECTIONS_POLL_MS))).toMatchObject({ ok: false, reason: "unknown" });
    server.close();
    cli.close();
  });

  test("a restore made by this process is seen at once", async () => {
    const { dir, server, cli, verifier } = twoConnections();
    cli.close();
    const before = join(dir, "before.db");
    backupDatabase(server, before);
    const { token } = await issueAt(server);
    const now = Date.now();
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now)).ok).toBe(true);
    await restoreDatabase(server, before, { now: new Date(now) });
    expect(atOnce(verifier.verify(token, () => "127.0.0.1", now))).toMatchObject({ ok: false, reason: "unknown" });
    server.close();
  });
});
