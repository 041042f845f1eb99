import { describe, expect, test } from "bun:test";
import { WriteBehind } from "../../src/db/write-behind";
import { memoryStore } from "../helpers/database";

/** A buffer of counts whose writes land in `written`, and fail while `failing` is set. */
function counter(capacity: number) {
  const written = new Map<string, number>();
  const state = { failing: false, writes: 0 };
  const buffer = new WriteBehind<number>(memoryStore(), {
    capacity,
    merge: (a, b) => a + b,
    overflow: () => ["other", 1],
    write(_, batch) {
      state.writes++;
      if (state.failing) throw new Error("database is locked");
      for (const [key, n] of batch) written.set(key, (written.get(key) ?? 0) + n);
    },
  });
  const total = () => [...written.values()].reduce((a, b) => a + b, 0);
  return { buffer, written, state, total };
}

describe("the write-behind buffer", () => {
  test("entries of one key merge, and counts are exact", async () => {
    const { buffer, written } = counter(100);
    for (let i = 0; i < 10_000; i++) buffer.add(`k${i % 7}`, 1);
    expect(buffer.size).toBe(7);
    await buffer.flush();
    expect(buffer.size).toBe(0);
    expect([...written.values()]).toEqual([1429, 1429, 1429, 1429, 1428, 1428, 1428]);
  });

  test("a batch whose write fails is kept, merged with what came after, and written by the next flush", async () => {
    const { buffer, written, state } = counter(100);
    for (let i = 0; i < 30; i++) buffer.add(`k${i % 3}`, 1);
    state.failing = true;
    await expect(buffer.flush()).rejects.toThrow("database is locked");
    await expect(buffer.flush()).rejects.toThrow("database is locked");
    buffer.add("k0", 5);
    buffer.add("k9", 1);
    state.failing = false;
    await buffer.flush();
    expect(Object.fromEntries(written)).toEqual({ k0: 15, k1: 10, k2: 10, k9: 1 });
    expect(state.writes).toBe(3);
  });

  test("a real transaction that fails writes nothing and loses nothing", async () => {
    const store = memoryStore();
    store.sqlite.run("CREATE TABLE seen (key TEXT PRIMARY KEY, n INTEGER NOT NULL)");
    const buffer = new WriteBehind<number>(store, {
      capacity: 10,
      merge: (a, b) => a + b,
      overflow: () => ["other", 1],
      write(tx, batch) {
        for (const [key, n] of batch) tx.run(`INSERT INTO seen VALUES ('${key}', ${n}) ON CONFLICT (key) DO UPDATE SET n = n + ${n}`);
      },
    });
    buffer.add("a", 2);
    buffer.add("b", 3);
    store.sqlite.run("CREATE TRIGGER full BEFORE INSERT ON seen WHEN NEW.key = 'b' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await expect(buffer.flush()).rejects.toThrow();
    expect(store.sqlite.query("SELECT count(*) AS n FROM seen").get()).toEqual({ n: 0 });
    store.sqlite.run("DROP TRIGGER full");
    await buffer.flush();
    expect(store.sqlite.query("SELECT key, n FROM seen ORDER BY key").all()).toEqual([{ key: "a", n: 2 }, { key: "b", n: 3 }]);
  });

  test("100,000 distinct keys stay within the capacity and every one is counted", async () => {
    const { buffer, written, total } = counter(1000);
    for (let i = 0; i < 100_000; i++) buffer.add(`k${i}`, 1);
    expect(buffer.size).toBe(1001);
    await buffer.flush();
    expect(written.get("other")).toBe(99_000);
    expect(total()).toBe(100_000);
  });

  test("while writes fail, memory stays bounded and nothing is lost", async () => {
    const { buffer, state, total } = counter(1000);
    state.failing = true;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 10_000; i++) buffer.add(`r${round}k${i}`, 1);
      await expect(buffer.flush()).rejects.toThrow();
      expect(buffer.size).toBeLessThanOrEqual(1001);
    }
    state.failing = false;
    await buffer.flush();
    expect(total()).toBe(100_000);
  });
});
