import { describe, expect, test } from "bun:test";
import { ProofReplays } from "../../../src/modules/auth/dpop";

describe("the DPoP replay cache", () => {
  test("a jti is spent once until it may be forgotten, then forgotten", () => {
    const replays = new ProofReplays(10);
    expect(replays.spend("k j1", 1_060, 1_000)).toBeNull();
    expect(replays.spend("k j1", 1_060, 1_030)).toBe("replayed");
    expect(replays.spend("other j1", 1_060, 1_030)).toBeNull();
    expect(replays.spend("k j1", 1_120, 1_061)).toBeNull();
    expect(replays.size).toBe(1);
  });

  test("at capacity a new proof is refused as busy, never by forgetting one that could still be replayed", () => {
    const replays = new ProofReplays(3);
    for (const jti of ["a", "b", "c"]) expect(replays.spend(jti, 60_000, 0)).toBeNull();
    expect(replays.spend("d", 60_000, 10)).toBe("busy");
    for (const jti of ["a", "b", "c"]) expect(replays.spend(jti, 60_000, 20)).toBe("replayed");
    expect(replays.spend("d", 120_000, 60_000)).toBeNull();
    expect(replays.size).toBe(1);
  });

  test("an expired entry behind a live one is swept once the cache is full", () => {
    const replays = new ProofReplays(3);
    expect(replays.spend("late", 90_000, 0)).toBeNull();
    expect(replays.spend("early-1", 30_000, 0)).toBeNull();
    expect(replays.spend("early-2", 30_000, 0)).toBeNull();
    expect(replays.spend("next", 100_000, 40_000)).toBeNull();
    expect(replays.size).toBe(2);
    expect(replays.spend("late", 90_000, 40_000)).toBe("replayed");
  });

  test("a full cache refused at every request is swept at most once a second", () => {
    const replays = new ProofReplays(10_000);
    for (let i = 0; i < 10_000; i++) replays.spend(`live-${i}`, 60_000, 0);
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) expect(replays.spend(`flood-${i}`, 60_000, 100 + (i % 500))).toBe("busy");
    // 20,000 refusals with at most one sweep of 10,000 entries; a sweep per request would be 200 million steps.
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
