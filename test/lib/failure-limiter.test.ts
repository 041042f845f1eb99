import { describe, expect, test } from "bun:test";
import { FailureLimiter } from "../../src/lib/failure-limiter";

describe("the failure limiter", () => {
  test("locks a key at the limit, for one window from the failure that locked it", () => {
    const limiter = new FailureLimiter(3, 60_000);
    expect(limiter.fail("ip:a", 0)).toBe(false);
    expect(limiter.fail("ip:a", 10_000)).toBe(false);
    expect(limiter.check("ip:a", 10_000)).toEqual({ locked: false });
    expect(limiter.fail("ip:a", 20_000)).toBe(true);
    expect(limiter.check("ip:a", 20_000)).toEqual({ locked: true, retryAfterMs: 60_000 });
    expect(limiter.check("ip:a", 79_999)).toEqual({ locked: true, retryAfterMs: 1 });
    expect(limiter.check("ip:a", 80_000)).toEqual({ locked: false });
  });

  test("failures spread over more than a window never lock", () => {
    const limiter = new FailureLimiter(3, 1000);
    for (let t = 0; t < 10_000; t += 600) limiter.fail("ip:a", t);
    expect(limiter.check("ip:a", 10_000).locked).toBe(false);
  });

  test("keys are independent: one address locked, another free", () => {
    const limiter = new FailureLimiter(2, 1000);
    limiter.fail("ip:a", 0);
    limiter.fail("ip:a", 1);
    expect(limiter.check("ip:a", 2).locked).toBe(true);
    expect(limiter.check("ip:b", 2).locked).toBe(false);
  });

  test("memory stays bounded when an attacker rotates addresses", () => {
    const limiter = new FailureLimiter(5, 60_000, 1000);
    for (let i = 0; i < 50_000; i++) limiter.fail(`ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, i);
    expect(limiter.size).toBe(1000);
  });

  test("as a rate limit, take counts requests until the window is full, then says how long to wait", () => {
    const limiter = new FailureLimiter(2, 60_000);
    expect([limiter.take("10.0.0.1", 0), limiter.take("10.0.0.1", 1)]).toEqual([{ locked: false }, { locked: false }]);
    expect(limiter.take("10.0.0.1", 2)).toEqual({ locked: true, retryAfterMs: 59_999 });
    expect(limiter.take("10.0.0.2", 2)).toEqual({ locked: false });
    expect(limiter.take("10.0.0.1", 60_001)).toEqual({ locked: false });
  });

  test("locks outlive a flood: fresh keys push out only counts, never a lock, even after many locks of the attacker's own", () => {
    const limiter = new FailureLimiter(3, 60_000, 100);
    for (let i = 0; i < 3; i++) limiter.fail("user:bob", i);
    for (let k = 0; k < 64; k++) for (let i = 0; i < 3; i++) limiter.fail(`ip:10.1.0.${k}`, 10 + i);
    for (let i = 0; i < 10_000; i++) limiter.fail(`ip:10.0.${i >> 8}.${i & 255}`, 20 + i);
    expect(limiter.size).toBe(100 + 65);
    expect(limiter.check("user:bob", 20_000)).toEqual({ locked: true, retryAfterMs: 60_000 + 2 - 20_000 });
  });

  test("the locks' own table is bounded too", () => {
    const limiter = new FailureLimiter(1, 60_000, 50);
    for (let i = 0; i < 500; i++) limiter.fail(`ip:10.2.${i >> 8}.${i & 255}`, i);
    expect(limiter.size).toBe(50);
  });

  test("a lock taken elsewhere is installed as it ends there: a later end wins, a past one is nothing, and it is not reported again", () => {
    const limiter = new FailureLimiter(3, 60_000);
    limiter.fail("ip:a", 0);
    limiter.lockUntil("ip:a", 30_000, 1000);
    expect(limiter.check("ip:a", 1000)).toEqual({ locked: true, retryAfterMs: 29_000 });
    expect(limiter.firstReport("ip:a", 1000)).toBe(false);
    limiter.lockUntil("ip:a", 20_000, 2000);
    expect(limiter.check("ip:a", 2000)).toEqual({ locked: true, retryAfterMs: 28_000 });
    limiter.lockUntil("ip:a", 40_000, 2000);
    expect(limiter.check("ip:a", 39_999)).toEqual({ locked: true, retryAfterMs: 1 });
    expect(limiter.check("ip:a", 40_000)).toEqual({ locked: false });
    limiter.lockUntil("ip:b", 5000, 5000);
    expect(limiter.check("ip:b", 5000)).toEqual({ locked: false });
    expect(limiter.size).toBe(0);
  });

  test("a lock taken here, then also elsewhere, keeps the later end and is reported once", () => {
    const limiter = new FailureLimiter(2, 10_000);
    limiter.fail("user:x", 0);
    limiter.fail("user:x", 0);
    expect(limiter.firstReport("user:x", 0)).toBe(true);
    limiter.lockUntil("user:x", 15_000, 1);
    expect(limiter.check("user:x", 12_000)).toEqual({ locked: true, retryAfterMs: 3000 });
    expect(limiter.firstReport("user:x", 12_000)).toBe(false);
  });

  test("an attempt that began before another instance's lock arrived and then succeeds does not lift that lock", () => {
    const limiter = new FailureLimiter(3, 60_000);
    limiter.fail("user:x", 0);
    limiter.lockUntil("user:x", 30_000, 1);
    limiter.forgive("user:x", 2);
    expect(limiter.check("user:x", 2)).toEqual({ locked: true, retryAfterMs: 29_998 });
  });
});
