import { describe, expect, test } from "bun:test";
import { tablesOf, type Store } from "../../src/db/client";
import { generateToken } from "../../src/lib/token-format";
import { AUDIT_WINDOW_MS, AuditQueue, listAudit, pruneAudit, recordAudit } from "../../src/modules/audit/service";
import { inProcessApp } from "../helpers/app";
import { memoryStore } from "../helpers/database";

const ADMIN = "audit-test-admin-token-0123456789";
const keepAll = { maxAgeMs: null, maxRows: 1_000_000 };
const rowsOf = async ({ db }: Pick<Store, "db">) => {
  const { auditEvents } = tablesOf(db);
  return await db.select({ action: auditEvents.action, ip: auditEvents.ip, detail: auditEvents.detail, count: auditEvents.count }).from(auditEvents).orderBy(auditEvents.id);
};

function clocked(capacity?: number) {
  const store = memoryStore();
  const clock = { now: Date.UTC(2026, 5, 1, 12, 0, 0) };
  const queue = new AuditQueue(store, keepAll, () => clock.now, capacity);
  return { store, clock, queue };
}

describe("failed authentications in the audit log", () => {
  test("5,000 bad-token requests from one address are a handful of rows whose counts add up to 5,000", async () => {
    const { app, store, audit } = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN, KEYWARD_MAX_FAILURES: "1000000" });
    const before = (await rowsOf(store)).length;
    for (let i = 0; i < 5000; i++) {
      let token = generateToken();
      // Half are unknown tokens, half have a broken checksum (malformed).
      if (i % 2 === 1) token = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
      const res = await app.handle(new Request("http://localhost/api/v1/me", { headers: { authorization: `Bearer ${token}` } }));
      expect(res.status).toBe(401);
      if (i % 1000 === 999) await audit.flush();
    }
    await audit.flush();
    const failures = (await rowsOf(store)).slice(before);
    // Two reasons (unknown, malformed), each one row per minute: four if the run straddles a minute.
    expect(failures.length).toBeLessThanOrEqual(4);
    expect(failures.every((row) => row.action === "auth.failed")).toBe(true);
    expect(failures.reduce((sum, row) => sum + row.count, 0)).toBe(5000);
  });

  test("the API shows how many events a row stands for", async () => {
    const { app, audit } = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN, KEYWARD_MAX_FAILURES: "1000000" });
    for (let i = 0; i < 3; i++) await app.handle(new Request("http://localhost/api/v1/me", { headers: { authorization: "Bearer wrong" } }));
    await audit.flush();
    const res = await app.handle(new Request("http://localhost/api/v1/audit?action=auth.failed", { headers: { authorization: `Bearer ${ADMIN}` } }));
    expect(await res.json()).toEqual([expect.objectContaining({ action: "auth.failed", detail: "token unknown", count: 3 })]);
  });

  test("identical failures are one row per window, also across flushes; another address, reason or window is another row", async () => {
    const { store, clock, queue } = clocked();
    const fail = (ip: string, detail = "unknown") => queue.push({ action: "auth.failed", ip, detail });
    fail("10.0.0.1");
    await queue.flush();
    fail("10.0.0.1");
    fail("10.0.0.1");
    fail("10.0.0.2");
    fail("10.0.0.1", "revoked");
    await queue.flush();
    clock.now += AUDIT_WINDOW_MS;
    fail("10.0.0.1");
    await queue.flush();
    expect(await rowsOf(store)).toEqual([
      { action: "auth.failed", ip: "10.0.0.1", detail: "unknown", count: 3 },
      { action: "auth.failed", ip: "10.0.0.2", detail: "unknown", count: 1 },
      { action: "auth.failed", ip: "10.0.0.1", detail: "revoked", count: 1 },
      { action: "auth.failed", ip: "10.0.0.1", detail: "unknown", count: 1 },
    ]);
  });

  test("flushes asked for at once (the ticker, an admin's listing) take turns: one row, and later flushes add to it", async () => {
    const { store, queue } = clocked();
    const fail = () => queue.push({ action: "auth.failed", ip: "10.0.0.1", detail: "unknown" });
    fail();
    const first = queue.flush();
    fail();
    const second = queue.flush();
    await Promise.all([first, second]);
    fail();
    await queue.flush();
    expect(await rowsOf(store)).toEqual([{ action: "auth.failed", ip: "10.0.0.1", detail: "unknown", count: 3 }]);
  });

  test("a flush whose write fails keeps the events, and the next one writes them all", async () => {
    const { store, queue } = clocked();
    for (let i = 0; i < 10; i++) queue.push({ action: "login.failed", ip: "10.0.0.9", user: "root" });
    store.sqlite.run("CREATE TRIGGER full BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await expect(queue.flush()).rejects.toThrow();
    queue.push({ action: "login.failed", ip: "10.0.0.9", user: "root" });
    await expect(queue.flush()).rejects.toThrow();
    store.sqlite.run("DROP TRIGGER full");
    await queue.flush();
    expect(await rowsOf(store)).toEqual([{ action: "login.failed", ip: "10.0.0.9", detail: null, count: 11 }]);
  });

  test("past its capacity the queue folds events into one row per action that still counts them", async () => {
    const { store, queue } = clocked(100);
    for (let i = 0; i < 10_000; i++) queue.push({ action: "auth.failed", ip: `10.0.${i >> 8}.${i & 255}`, detail: "unknown" });
    await queue.flush();
    const rows = await rowsOf(store);
    expect(rows.length).toBe(101);
    expect(rows.at(-1)).toEqual({ action: "auth.failed", ip: null, detail: "from more sources than the audit queue holds", count: 9_900 });
    expect(rows.reduce((sum, row) => sum + row.count, 0)).toBe(10_000);
  });
});

describe("audit retention", () => {
  const day = 86_400_000;

  test("rows past the age are deleted, then the oldest past the row cap", async () => {
    const store = memoryStore();
    const { db } = store;
    const now = Date.UTC(2026, 5, 1);
    await store.write(async (tx) => {
      for (const age of [100, 91, 50, 3, 2, 1]) await recordAudit(tx, { action: "token.created", detail: `${age} days old` }, new Date(now - age * day));
    });
    await store.write((tx) => pruneAudit(tx, { maxAgeMs: 90 * day, maxRows: 3 }, now));
    expect((await listAudit(db, { limit: 10 })).items.map((row) => row.detail)).toEqual(["1 days old", "2 days old", "3 days old"]);
  });

  test("with no age limit only the row cap applies", async () => {
    const store = memoryStore();
    const { db } = store;
    const now = Date.UTC(2026, 5, 1);
    await store.write(async (tx) => {
      for (const age of [4000, 1]) await recordAudit(tx, { action: "token.created", detail: `${age} days old` }, new Date(now - age * day));
    });
    await store.write((tx) => pruneAudit(tx, { maxAgeMs: null, maxRows: 2 }, now));
    expect((await listAudit(db, { limit: 10 })).items).toHaveLength(2);
  });

  test("the queue prunes at its first flush and then once a minute", async () => {
    const store = memoryStore();
    const clock = { now: Date.UTC(2026, 5, 1) };
    const queue = new AuditQueue(store, { maxAgeMs: day, maxRows: 1_000_000 }, () => clock.now);
    await store.write((tx) => recordAudit(tx, { action: "token.created" }, new Date(clock.now - 2 * day)));
    await queue.flush();
    expect(await rowsOf(store)).toEqual([]);
    await store.write((tx) => recordAudit(tx, { action: "token.created" }, new Date(clock.now - 2 * day)));
    clock.now += 59_000;
    await queue.flush();
    expect(await rowsOf(store)).toHaveLength(1);
    clock.now += 1000;
    await queue.flush();
    expect(await rowsOf(store)).toEqual([]);
  });
});
