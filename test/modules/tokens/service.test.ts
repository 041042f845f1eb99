import { describe, expect, test } from "bun:test";
import type { Tally } from "../../../src/modules/usage/tallies";
import { DomainError } from "../../../src/lib/errors";
import { listAudit } from "../../../src/modules/audit/service";
import { bootstrapAdmin } from "../../../src/modules/tokens/bootstrap";
import { syncEnvTokens } from "../../../src/modules/tokens/env-tokens";
import { getToken, issueToken, listTokens, revokeToken, revokeUserTokens, rotateToken } from "../../../src/modules/tokens/service";
import { UsageTracker } from "../../../src/modules/tokens/usage";
import { memoryStore } from "../../helpers/database";
import { memoryLogger } from "../../helpers/memory-log";

const actor = { name: "admin", tokenId: "tok_admin", ip: "192.168.1.2" };
const hour = 3_600_000;

async function failure(run: () => unknown): Promise<DomainError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("issuing tokens", () => {
  test("stores the user in lower case, the role, the expiry and the canonical IP ranges", async () => {
    const store = memoryStore();
    const { db } = store;
    const now = new Date("2026-01-01T00:00:00Z");
    const { row } = await issueToken(store, { user: " Alice ", role: "Analyst", lifetimeMs: hour, allowedIps: ["10.1.2.3/8", "10.0.0.0/8"], source: "api" }, actor, now);
    expect(row).toMatchObject({ user: "alice", role: "analyst", allowedIps: ["10.0.0.0/8"], expiresAt: new Date("2026-01-01T01:00:00Z") });
    expect((await listAudit(db, { limit: 5 })).items[0]).toMatchObject({ action: "token.created", actor: "admin", user: "alice", tokenId: row.id, ip: "192.168.1.2" });
  });

  test.each([
    ["an empty user", { user: "" }, "invalid_user"],
    ["a user with a space", { user: "bob smith" }, "invalid_user"],
    ["a role with capitals and spaces", { role: "Power User" }, "invalid_role"],
    ["the reserved device role", { role: "device" }, "reserved_role"],
    ["a name with a control character", { name: "a\u0007b" }, "invalid_name"],
    ["a bad IP range", { allowedIps: ["10.0.0.0/99"] }, "invalid_allowed_ips"],
  ])("refuses %s", async (_, extra, code) => {
    const store = memoryStore();
    const { db } = store;
    const error = await failure(() => issueToken(store, { user: "alice", lifetimeMs: hour, source: "api", ...extra }, actor));
    expect(error.kind).toBe("invalid");
    expect(error.code).toBe(code);
    expect((await listTokens(db, {})).items).toEqual([]);
  });

  test("a unicode user name is fine, and case-insensitive", async () => {
    const store = memoryStore();
    const { db } = store;
    await issueToken(store, { user: "Zoë", lifetimeMs: null, source: "cli" }, actor);
    expect((await listTokens(db, { user: "ZOË" })).items).toHaveLength(1);
  });
});

describe("listing, revoking and rotating", () => {
  test("list filters by user and by whether the token works now", async () => {
    const store = memoryStore();
    const { db } = store;
    const a = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    await issueToken(store, { user: "bob", lifetimeMs: hour, source: "api" }, actor);
    await revokeToken(store, a.row.id, actor);
    expect((await listTokens(db, { user: "alice" })).items.map((r) => r.id)).toEqual([a.row.id]);
    expect((await listTokens(db, { active: true })).items.map((r) => r.user)).toEqual(["bob"]);
    expect((await listTokens(db, { active: false })).items.map((r) => r.user)).toEqual(["alice"]);
  });

  test("revoking keeps the record, and a second revoke changes nothing", async () => {
    const store = memoryStore();
    const { db } = store;
    const { row } = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    const first = await revokeToken(store, row.id, actor);
    const second = await revokeToken(store, row.id, actor);
    expect(first.revokedAt).not.toBeNull();
    expect(second.revokedAt).toEqual(first.revokedAt);
    expect((await listAudit(db, { limit: 10, action: "token.revoked" })).items).toHaveLength(1);
  });

  test("a token can be found by the token itself, as seed 001's CLI revokes", async () => {
    const store = memoryStore();
    const { db } = store;
    const { token, row } = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    expect((await getToken(db, token)).id).toBe(row.id);
    expect((await failure(async () => await getToken(db, "tok_nope"))).kind).toBe("not_found");
  });

  test("rotation without grace ends the old token at once and links its successor", async () => {
    const store = memoryStore();
    const now = new Date("2026-01-01T00:00:00Z");
    const { row } = await issueToken(store, { user: "alice", name: "laptop", role: "viewer", lifetimeMs: hour, allowedIps: ["10.0.0.0/8"], source: "api" }, actor, now);
    const later = new Date(now.getTime() + 600_000);
    const rotation = await rotateToken(store, row.id, 0, actor, later);
    expect(rotation.previous).toMatchObject({ revokedAt: later, revokeReason: "rotated", replacedBy: rotation.row.id });
    expect(rotation.row).toMatchObject({ user: "alice", name: "laptop", role: "viewer", allowedIps: ["10.0.0.0/8"], expiresAt: new Date(later.getTime() + hour) });
  });

  test("rotation with grace leaves the old token working until the grace ends", async () => {
    const store = memoryStore();
    const now = new Date("2026-01-01T00:00:00Z");
    const { row } = await issueToken(store, { user: "alice", lifetimeMs: null, source: "api" }, actor, now);
    const rotation = await rotateToken(store, row.id, 86_400_000, actor, now);
    expect(rotation.previous.revokedAt).toEqual(new Date("2026-01-02T00:00:00Z"));
    expect(rotation.row.expiresAt).toBeNull();
    expect((await failure(() => rotateToken(store, row.id, 0, actor, now))).code).toBe("already_rotated");
  });

  test("a revoked or expired token cannot be rotated", async () => {
    const store = memoryStore();
    const { row } = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    await revokeToken(store, row.id, actor);
    expect((await failure(() => rotateToken(store, row.id, 0, actor))).code).toBe("token_inactive");
  });

  test("all of a user's working tokens can be revoked in one call", async () => {
    const store = memoryStore();
    const { db } = store;
    for (let i = 0; i < 3; i++) await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    await issueToken(store, { user: "bob", lifetimeMs: hour, source: "api" }, actor);
    expect(await revokeUserTokens(store, "ALICE", actor)).toEqual({ user: "alice", revoked: 3 });
    expect((await listTokens(db, { active: true })).items.map((r) => r.user)).toEqual(["bob"]);
    expect(await revokeUserTokens(store, "alice", actor)).toEqual({ user: "alice", revoked: 0 });
  });
});

describe("environment tokens and the first admin", () => {
  test("API_TOKENS entries are listed with source env and cannot be revoked or rotated (409)", async () => {
    const store = memoryStore();
    const { db } = store;
    const { hashes } = await syncEnvTokens(store, { adminToken: null, apiTokens: [{ label: "admin", token: "a".repeat(32) }, { label: null, token: "b".repeat(32) }] });
    expect(hashes.size).toBe(2);
    const rows = (await listTokens(db, {})).items;
    expect(rows.map((r) => [r.user, r.role, r.source, r.name]).sort()).toEqual([
      ["admin", "admin", "env", "API_TOKENS"],
      ["env-2", "user", "env", "API_TOKENS"],
    ]);
    for (const row of rows) {
      expect(await failure(() => revokeToken(store, row.id, actor))).toMatchObject({ kind: "conflict", code: "env_token" });
      expect(await failure(() => rotateToken(store, row.id, 0, actor))).toMatchObject({ kind: "conflict", code: "env_token" });
    }
  });

  test("changing KEYWARD_ADMIN_TOKEN retires the old value; restarting with the same value keeps its record", async () => {
    const store = memoryStore();
    const { db } = store;
    await syncEnvTokens(store, { adminToken: "first-admin-token-value", apiTokens: [] });
    const firstId = (await listTokens(db, {})).items[0]!.id;
    await syncEnvTokens(store, { adminToken: "first-admin-token-value", apiTokens: [] });
    expect((await listTokens(db, {})).items.map((r) => r.id)).toEqual([firstId]);
    await syncEnvTokens(store, { adminToken: "second-admin-token-value", apiTokens: [] });
    const rows = (await listTokens(db, {})).items;
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.id === firstId)).toMatchObject({ revokeReason: "removed from the environment" });
    expect((await listTokens(db, { active: true })).items).toHaveLength(1);
    expect((await listAudit(db, { limit: 5, action: "token.env_removed" })).items).toHaveLength(1);
  });

  test("bootstrap makes one admin token when none works, and none when one does", async () => {
    const store = memoryStore();
    const { db } = store;
    const first = await bootstrapAdmin(store, hour);
    expect(first?.row).toMatchObject({ user: "admin", role: "admin", source: "bootstrap" });
    expect(await bootstrapAdmin(store, hour)).toBeNull();
    await revokeToken(store, first!.row.id, actor);
    expect(await bootstrapAdmin(store, hour)).not.toBeNull();
    expect((await listAudit(db, { limit: 10, action: "admin.bootstrap" })).items).toHaveLength(2);
  });
});

describe("usage tracking", () => {
  /** `count` uses of a token, the first at `at` from `ip`, as a tally hands them on (usage/tallies.ts). */
  const uses = (tokenId: string, count: number, lastUsedAt: number, lastIp = "10.0.0.5"): Tally => ({ tokenId, source: "api", count, minute: 0, lastUsedAt, lastIp, listed: false });

  test("counts uses in memory and writes them on flush", async () => {
    const store = memoryStore();
    const { db } = store;
    const { row } = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    const usage = new UsageTracker(store, memoryLogger());
    usage.received(uses(row.id, 5, 1_004));
    usage.received(uses(row.id, 1, 2_000, "10.0.0.6"));
    expect((await getToken(db, row.id)).requestCount).toBe(0);
    await usage.flush();
    expect(await getToken(db, row.id)).toMatchObject({ requestCount: 6, lastIp: "10.0.0.6", lastUsedAt: new Date(2_000) });
    usage.received(uses(row.id, 1, 3_000, "10.0.0.7"));
    await usage.flush();
    expect(await getToken(db, row.id)).toMatchObject({ requestCount: 7, lastIp: "10.0.0.7" });
  });

  test("a flush takes the uses still counted in place first", async () => {
    const store = memoryStore();
    const { row } = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    let settled = 0;
    const usage: UsageTracker = new UsageTracker(store, memoryLogger(), () => {
      settled++;
      usage.received(uses(row.id, 3, 1_000));
    });
    await usage.flush();
    expect(settled).toBe(1);
    expect((await getToken(store.db, row.id)).requestCount).toBe(3);
  });

  test("a flush of older uses (another instance's, late) adds its count but keeps the latest use and its address", async () => {
    const store = memoryStore();
    const { row } = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    const [late, prompt] = [new UsageTracker(store, memoryLogger()), new UsageTracker(store, memoryLogger())];
    late.received(uses(row.id, 1, 1_000, "10.0.0.1"));
    prompt.received(uses(row.id, 1, 5_000, "10.0.0.2"));
    await prompt.flush();
    await late.flush();
    expect(await getToken(store.db, row.id)).toMatchObject({ requestCount: 2, lastIp: "10.0.0.2", lastUsedAt: new Date(5_000) });
  });

  test("two tallies of one token in a window keep the latest use's time and address, whichever comes first", async () => {
    const store = memoryStore();
    const { row } = await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor);
    const usage = new UsageTracker(store, memoryLogger());
    usage.received(uses(row.id, 2, 9_000, "10.0.0.9"));
    usage.received(uses(row.id, 3, 4_000, "10.0.0.4"));
    await usage.flush();
    expect(await getToken(store.db, row.id)).toMatchObject({ requestCount: 5, lastIp: "10.0.0.9", lastUsedAt: new Date(9_000) });
  });

  test("past its capacity, uses are not counted per token but the log says how many", async () => {
    const store = memoryStore();
    const log = memoryLogger();
    const usage = new UsageTracker(store, log, undefined, 2);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await issueToken(store, { user: "alice", lifetimeMs: hour, source: "api" }, actor)).row.id);
    for (const id of ids) usage.received(uses(id, 1, Date.now()));
    usage.received(uses(ids[3]!, 1, Date.now()));
    await usage.flush();
    expect(await Promise.all(ids.map(async (id) => (await getToken(store.db, id)).requestCount))).toEqual([1, 1, 0, 0]);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: "warn", uses: 3 }));
  });
});
