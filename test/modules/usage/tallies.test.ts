import { describe, expect, test } from "bun:test";
import { Metrics } from "../../../src/modules/metrics/registry";
import type { Granted } from "../../../src/modules/tokens/verifier";
import { type Tally, Tallies } from "../../../src/modules/usage/tallies";

// Token uses counted in place: what each receiver is handed, and when. The clock is the `at` given.
const minute = 60_000;
/** 10:59:30 UTC: thirty seconds before a minute's end. */
const t0 = Date.UTC(2026, 0, 5, 10, 59, 30);

const grant = (tokenId: string, source: Granted["principal"]["source"] = "api"): Granted => ({
  ok: true,
  principal: { user: "alice", role: "user", tokenId, source, issuedAt: new Date(0), expiresAt: null, scopes: [] },
});

function setup(capacity?: number) {
  const tallies = new Tallies(capacity);
  const handed: Omit<Tally, "listed">[] = [];
  tallies.deliverTo([{ received: ({ listed: _, ...tally }) => handed.push({ ...tally }) }]);
  const asked: string[] = [];
  const from = (ip: string) => () => (asked.push(ip), ip);
  return { tallies, handed, asked, from };
}

describe("token uses counted in place", () => {
  test("nothing is handed on until a receiver settles; then each token's count, its last use and its first use's address", () => {
    const { tallies, handed, asked, from } = setup();
    const alice = grant("tok_a");
    for (let i = 0; i < 5; i++) tallies.count(alice, t0 + i, from("10.0.0.5"));
    tallies.count(grant("tok_b", "env"), t0 + 9, from("10.0.0.6"));
    tallies.count(alice, t0 + 20, from("10.0.0.7"));
    expect(handed).toEqual([]);
    tallies.settle();
    expect(handed).toEqual([
      { tokenId: "tok_a", source: "api", count: 6, minute: t0 - 30_000, lastUsedAt: t0 + 20, lastIp: "10.0.0.5" },
      { tokenId: "tok_b", source: "env", count: 1, minute: t0 - 30_000, lastUsedAt: t0 + 9, lastIp: "10.0.0.6" },
    ]);
    // The address is a system call: asked once per tally.
    expect(asked).toEqual(["10.0.0.5", "10.0.0.6"]);
    tallies.settle();
    expect(handed).toHaveLength(2);
    tallies.count(alice, t0 + 500, from("10.0.0.8"));
    tallies.settle();
    expect(handed.at(-1)).toMatchObject({ tokenId: "tok_a", count: 1, lastIp: "10.0.0.8" });
  });

  test("a use in another minute hands on what the tally holds first: each use counts in its own minute", () => {
    const { tallies, handed, from } = setup();
    const alice = grant("tok_a");
    tallies.count(alice, t0, from("10.0.0.5"));
    tallies.count(alice, t0 + 29_999, from("10.0.0.5"));
    expect(handed).toEqual([]);
    tallies.count(alice, t0 + 30_000, from("10.0.0.6"));
    expect(handed).toEqual([{ tokenId: "tok_a", source: "api", count: 2, minute: t0 - 30_000, lastUsedAt: t0 + 29_999, lastIp: "10.0.0.5" }]);
    // A clock set back is another minute too.
    tallies.count(alice, t0 - minute, from("10.0.0.7"));
    tallies.settle();
    expect(handed.map(({ count, minute: at, lastIp }) => [count, new Date(at).toISOString(), lastIp])).toEqual([
      [2, "2026-01-05T10:59:00.000Z", "10.0.0.5"],
      [1, "2026-01-05T11:00:00.000Z", "10.0.0.6"],
      [1, "2026-01-05T10:58:00.000Z", "10.0.0.7"],
    ]);
  });

  test("a token's grant made again (its cache entry refilled) counts under the same id, both tallies handed on", () => {
    const { tallies, handed, from } = setup();
    tallies.count(grant("tok_a"), t0, from("10.0.0.5"));
    tallies.count(grant("tok_a"), t0 + 1, from("10.0.0.5"));
    tallies.settle();
    expect(handed.map(({ tokenId, count }) => [tokenId, count])).toEqual([
      ["tok_a", 1],
      ["tok_a", 1],
    ]);
  });

  test("past its capacity, a new token's use is handed on at once, not held: memory stays bounded", () => {
    const { tallies, handed, from } = setup(2);
    for (const id of ["tok_a", "tok_b", "tok_c"]) tallies.count(grant(id), t0, from("10.0.0.5"));
    expect(handed.map(({ tokenId, count }) => [tokenId, count])).toEqual([["tok_c", 1]]);
    tallies.settle();
    expect(handed.map(({ tokenId }) => tokenId)).toEqual(["tok_c", "tok_a", "tok_b"]);
  });

  test("/metrics' totals include the uses not yet settled: a reader never sees fewer than were counted", () => {
    const tallies = new Tallies();
    const metrics = new Metrics(undefined, tallies.settle);
    tallies.deliverTo([metrics]);
    const alice = grant("tok_a");
    for (let i = 0; i < 3; i++) tallies.count(alice, t0 + i, () => "10.0.0.5");
    metrics.authentication("success", "device");
    const successes = () => metrics.render([]).split("\n").filter((line) => line.startsWith('keyward_authentications_total{outcome="success"'));
    expect(successes().toSorted()).toEqual(['keyward_authentications_total{outcome="success",reason="api"} 3', 'keyward_authentications_total{outcome="success",reason="device"} 1']);
    tallies.count(alice, t0 + 5, () => "10.0.0.5");
    expect(successes()).toContain('keyward_authentications_total{outcome="success",reason="api"} 4');
  });
});
