import { describe, expect, test } from "bun:test";
import { ProofReplays, REPLAY_LIMITS, type ReplayLimits } from "../../../src/modules/auth/proof-replays";

const small: ReplayLimits = { perKey: 5, crowded: 10, quietKey: 2, capacity: 14 };

describe("the DPoP replay cache", () => {
  test("a jti is spent once per key until it may be forgotten, then forgotten", () => {
    const replays = new ProofReplays(small);
    expect(replays.spend("k", "j1", 1_060, 1_000)).toBeNull();
    expect(replays.spend("k", "j1", 1_060, 1_059)).toBe("replayed");
    expect(replays.spend("other", "j1", 1_060, 1_030)).toBeNull();
    expect(replays.spend("k", "j1", 1_120, 1_060)).toBeNull();
    expect(replays.size).toBe(2);
  });

  test("a key past its share refuses only its own proofs; the others' pass", () => {
    const replays = new ProofReplays(small);
    for (let i = 0; i < 5; i++) expect(replays.spend("flood", `f${i}`, 60_000, 0)).toBeNull();
    expect(replays.spend("flood", "f5", 60_000, 1)).toBe("key_busy");
    expect(replays.spend("flood", "f0", 60_000, 1)).toBe("replayed");
    expect(replays.spend("device", "d0", 60_000, 1)).toBeNull();
    // Its own entries expire, and it may spend again.
    expect(replays.spend("flood", "f5", 120_000, 60_000)).toBeNull();
  });

  test("crowded by many keys, a quiet key still spends; full, nobody does; an unexpired entry is never dropped to make room", () => {
    const replays = new ProofReplays(small);
    for (let k = 0; k < 5; k++) for (let i = 0; i < 2; i++) expect(replays.spend(`noisy-${k}`, `j${i}`, 60_000, 0)).toBeNull();
    expect(replays.size).toBe(10);
    expect(replays.spend("noisy-0", "j2", 60_000, 1)).toBe("busy");
    for (let k = 0; k < 4; k++) expect(replays.spend(`quiet-${k}`, "j0", 60_000, 1)).toBeNull();
    expect(replays.spend("quiet-4", "j0", 60_000, 1)).toBe("busy");
    for (let k = 0; k < 5; k++) expect(replays.spend(`noisy-${k}`, "j0", 60_000, 2)).toBe("replayed");
    expect(replays.spend("quiet-4", "j0", 120_000, 60_000)).toBeNull();
  });

  test("an expired entry behind a live one is forgotten when its key reaches its share", () => {
    const replays = new ProofReplays(small);
    expect(replays.spend("k", "late", 90_000, 0)).toBeNull();
    for (let i = 0; i < 4; i++) expect(replays.spend("k", `early-${i}`, 30_000, 0)).toBeNull();
    expect(replays.spend("k", "next", 100_000, 40_000)).toBeNull();
    expect(replays.size).toBe(2);
    expect(replays.spend("k", "late", 90_000, 40_000)).toBe("replayed");
  });

  test("a crowded cache refused at every request is swept at most once a second", () => {
    const limits = { ...REPLAY_LIMITS, crowded: 10_000, capacity: 10_000 };
    const replays = new ProofReplays(limits);
    for (let i = 0; i < 10_000; i++) replays.spend(`key-${i % 1_000}`, `live-${i}`, 60_000, 0);
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) expect(replays.spend(`other-${i}`, "j", 60_000, 100 + (i % 500))).toBe("busy");
    // 20,000 refusals with at most one sweep of 10,000 entries; a sweep per request would be 200 million steps.
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
