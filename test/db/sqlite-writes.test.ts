import { describe, expect, test } from "bun:test";
import { AsyncResource } from "node:async_hooks";
import { count, eq } from "drizzle-orm";
import { ChangeBoundCache } from "../../src/db/change-bound-cache";
import type { Transaction } from "../../src/db/client";
import { isTransientDbError, WriteInProgressError } from "../../src/db/errors";
import { settings } from "../../src/db/schema";
import { WriteBehind } from "../../src/db/write-behind";
import { memoryStore } from "../helpers/database";

const at = new Date(1_800_000_000_000);
const keys = (store: ReturnType<typeof memoryStore>) => store.db.select({ key: settings.key }).from(settings).all().map((row) => row.key).sort();

/** Reads how many settings there are, then adds the next one: two of these interleaved would both add the same key. */
async function addNext(tx: Transaction, trace: string[], who: string): Promise<string> {
  trace.push(`${who} reads`);
  const [{ n }] = (await tx.select({ n: count() }).from(settings)) as [{ n: number }];
  trace.push(`${who} writes`);
  await tx.insert(settings).values({ key: `k${n}`, value: who, updatedAt: at });
  return `k${n}`;
}

describe("async write transactions on one SQLite connection", () => {
  test("two racing writes take turns: what the second reads includes what the first wrote", async () => {
    const store = memoryStore();
    const trace: string[] = [];
    const [a, b] = await Promise.all([store.write((tx) => addNext(tx, trace, "a")), store.write((tx) => addNext(tx, trace, "b"))]);
    expect([a, b]).toEqual(["k0", "k1"]);
    expect(trace).toEqual(["a reads", "a writes", "b reads", "b writes"]);
    expect(keys(store)).toEqual(["k0", "k1"]);
  });

  test("a failing write rolls back, empties the caches and rethrows; the next write goes ahead", async () => {
    const store = memoryStore();
    const cache = new ChangeBoundCache<string | null>(store.changes, 10);
    const read = (key: string) => store.db.select().from(settings).where(eq(settings.key, key)).get()?.value ?? null;
    const failing = store.write(async (tx) => {
      await tx.insert(settings).values({ key: "k0", value: "never committed", updatedAt: at });
      // Another request in the same turn reads the open transaction's row, and caches it.
      expect(cache.through("k0", Date.now(), read)).toBe("never committed");
      throw new Error("refused half-way");
    });
    await expect(failing).rejects.toThrow("refused half-way");
    expect(keys(store)).toEqual([]);
    expect(cache.through("k0", Date.now(), read)).toBeNull();
    expect(await store.write((tx) => addNext(tx, [], "next"))).toBe("k0");
  });

  test("a write refused before it wrote anything (a name taken, say) leaves the caches be: a stranger's refusals cannot keep them empty", async () => {
    const store = memoryStore();
    const before = store.changes.current();
    const refused = store.write(async (tx) => {
      await tx.select().from(settings);
      throw new Error("refused after reading only");
    });
    await expect(refused).rejects.toThrow("refused after reading only");
    expect(store.changes.current()).toBe(before);
  });

  test("bookkeeping asked for during an open write waits its turn, and survives that write's rollback", async () => {
    const store = memoryStore();
    const trace: string[] = [];
    const buffer = new WriteBehind<number>(store, {
      capacity: 10,
      merge: (a, b) => a + b,
      overflow: (key, n) => [key, n],
      write(tx, batch) {
        trace.push("bookkeeping");
        for (const [key, n] of batch) tx.insert(settings).values({ key, value: String(n), updatedAt: at }).run();
      },
    });
    let flushed: Promise<void> | undefined;
    // Asked for from outside the write (as the ticker does), at a moment the write is open.
    const flushFromOutside = AsyncResource.bind(() => {
      flushed = buffer.flush();
    });
    const failing = store.write(async (tx) => {
      await tx.insert(settings).values({ key: "k0", value: "rolled back", updatedAt: at });
      buffer.add("uses", 3);
      flushFromOutside();
      await tx.select().from(settings);
      trace.push("write fails");
      throw new Error("refused");
    });
    await expect(failing).rejects.toThrow("refused");
    await flushed;
    expect(trace).toEqual(["write fails", "bookkeeping"]);
    expect(store.db.select().from(settings).all().map((row) => [row.key, row.value])).toEqual([["uses", "3"]]);
  });

  test("bookkeeping leaves the caches alone; a write empties them", async () => {
    const store = memoryStore();
    const before = store.changes.current();
    await store.bookkeeping((tx) => tx.insert(settings).values({ key: "quiet", value: "1", updatedAt: at }).run());
    expect(store.changes.current()).toBe(before);
    await store.write((tx) => tx.insert(settings).values({ key: "loud", value: "1", updatedAt: at }).run());
    expect(store.changes.current()).toBeGreaterThan(before);
  });

  test("a write outside the transaction while one is open is refused (a 503), never folded into it; reads go on", async () => {
    const store = memoryStore();
    let refused: unknown;
    await store.write(async (tx) => {
      await tx.insert(settings).values({ key: "inside", value: "1", updatedAt: at });
      try {
        store.db.insert(settings).values({ key: "outside", value: "1", updatedAt: at }).run();
      } catch (error) {
        refused = error;
      }
      expect(store.db.select().from(settings).all()).toHaveLength(1);
    });
    expect(refused).toBeInstanceOf(WriteInProgressError);
    expect(isTransientDbError(refused)).toBe(true);
    expect(keys(store)).toEqual(["inside"]);
    store.db.insert(settings).values({ key: "outside", value: "1", updatedAt: at }).run();
    expect(keys(store)).toEqual(["inside", "outside"]);
  });

  test("a body that awaits anything but its queries is rolled back at the next macrotask, and its later statements are refused", async () => {
    const store = memoryStore();
    let late: unknown;
    const slow = store.write(async (tx) => {
      await tx.insert(settings).values({ key: "before the sleep", value: "1", updatedAt: at });
      await Bun.sleep(5);
      try {
        await tx.insert(settings).values({ key: "after the sleep", value: "1", updatedAt: at });
      } catch (error) {
        late = error;
      }
    });
    await expect(slow).rejects.toThrow("awaited something other than its queries");
    // Meanwhile other writes carry on; the sleeper's next statement must not land in one of them.
    await store.write(async (tx) => {
      await tx.insert(settings).values({ key: "next", value: "1", updatedAt: at });
      await Promise.resolve();
    });
    await Bun.sleep(20);
    expect(String(late)).toContain("a write transaction that has ended");
    expect(keys(store)).toEqual(["next"]);
  });

  test("a write started inside another's body is refused at once, so the outer one fails whole: nothing half done, no deadlock", async () => {
    const store = memoryStore();
    const outer = store.write(async (tx) => {
      await tx.insert(settings).values({ key: "outer", value: "1", updatedAt: at });
      await store.write((inner) => inner.insert(settings).values({ key: "inner", value: "1", updatedAt: at }).run());
    });
    await expect(outer).rejects.toThrow("a write started inside another write's body");
    await Bun.sleep(0);
    expect(keys(store)).toEqual([]);
    expect(await store.write((tx) => addNext(tx, [], "next"))).toBe("k0");
  });

  test("a write that a timer set inside a body starts after that write ended is its own, not a nested one", async () => {
    const store = memoryStore();
    const later = Promise.withResolvers<unknown>();
    await store.write(async (tx) => {
      await tx.insert(settings).values({ key: "first", value: "1", updatedAt: at });
      setTimeout(() => later.resolve(store.write((next) => next.insert(settings).values({ key: "later", value: "1", updatedAt: at }).run())), 0);
    });
    await later.promise;
    expect(keys(store)).toEqual(["first", "later"]);
  });

  test("closing waits for the writes already asked for, then refuses new ones: none meets a closed handle half-way", async () => {
    const store = memoryStore();
    const asked = [store.write((tx) => addNext(tx, [], "a")), store.write((tx) => addNext(tx, [], "b"))];
    const closed = store.close();
    await expect(store.write((tx) => addNext(tx, [], "late"))).rejects.toThrow("the database is closing");
    expect(await Promise.all(asked)).toEqual(["k0", "k1"]);
    await closed;
  });

  test("a transaction object kept past its write is refused", async () => {
    const store = memoryStore();
    const kept = await store.write((tx) => tx);
    expect(() => kept.insert(settings).values({ key: "stray", value: "1", updatedAt: at }).run()).toThrow("a write transaction that has ended");
    expect(keys(store)).toEqual([]);
  });
});
