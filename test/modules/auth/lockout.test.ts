import { describe, expect, test } from "bun:test";
import { FailureLimiter } from "../../../src/lib/failure-limiter";
import { Lockout } from "../../../src/modules/auth/lockout";
import { AuditQueue, listAudit } from "../../../src/modules/audit/service";
import { memoryStore } from "../../helpers/database";

function lockout(max = 3, windowMs = 60_000) {
  const store = memoryStore();
  const { db } = store;
  let now = 1_000_000;
  const audit = new AuditQueue(store, { maxAgeMs: null, maxRows: 1_000_000 }, () => now);
  const lock = new Lockout(new FailureLimiter(max, windowMs), new FailureLimiter(max, windowMs), audit, () => now);
  return { lock, advance: (ms: number) => void (now += ms), audited: async () => (await audit.flush(), (await listAudit(db, { limit: 100 })).items) };
}

const who = { ip: "10.0.0.1" };

describe("the lockout", () => {
  test("attempts count when they start: with three in flight, a fourth is refused before any finishes", () => {
    const { lock } = lockout(3);
    const running = [1, 2, 3].map(() => lock.begin(["ip:a"], who));
    expect(running.every((begun) => begun.ok)).toBe(true);
    expect(lock.begin(["ip:a"], who)).toEqual({ ok: false, retryAfterMs: 60_000 });
  });

  test("an attempt that succeeds gives its place back; one that fails keeps it", () => {
    const { lock } = lockout(2);
    const first = lock.begin(["ip:a", "user:x"], who);
    if (!first.ok) throw new Error("expected to begin");
    first.attempt.succeeded();
    const second = lock.begin(["ip:a", "user:x"], who);
    if (!second.ok) throw new Error("expected to begin");
    second.attempt.failed();
    expect(lock.retryAfter(["user:x"])).toBe(0);
    expect(lock.begin(["user:x"], who).ok).toBe(true);
    expect(lock.retryAfter(["user:x"])).toBe(60_000);
  });

  test("a lockout is audited once, when a failed attempt settles it, and ends with its window", async () => {
    const { lock, advance, audited } = lockout(2, 10_000);
    for (let i = 0; i < 5; i++) {
      const begun = lock.begin(["ip:a"], who);
      if (begun.ok) begun.attempt.failed();
    }
    lock.count(["ip:a"], who);
    expect((await audited()).filter((e) => e.action === "auth.locked")).toHaveLength(1);
    advance(9_999);
    expect(lock.retryAfter(["ip:a"])).toBe(1);
    advance(1);
    expect(lock.retryAfter(["ip:a"])).toBe(0);
  });
});
