import { describe, expect, test } from "bun:test";
import { relistened, stable, startedMonitor } from "../helpers/fake-change-signal";

// Bun reconnects a dropped LISTEN only after a backoff (1 s, 2 s … about 30 s): after an outage the
// monitor listens anew itself, and trusts nothing cached until a poll sent after that confirms.
describe("the PostgreSQL change monitor after a failed poll", () => {
  test("the first poll that answers again replaces the LISTEN; only a poll sent after the new one confirms", async () => {
    const { db, heard, monitor } = await startedMonitor();
    db.mode = "fail";
    expect(await monitor.poll()).toBe(false);
    db.mode = "answer";
    expect(await monitor.poll()).toBe(false);
    expect(stable(monitor)).toBe(false);
    await relistened();
    expect([heard.listens, heard.unlistens, heard.open]).toEqual([2, 1, 1]);
    expect(stable(monitor)).toBe(false);
    db.version = "1";
    const before = monitor.current();
    expect(await monitor.poll()).toBe(true);
    expect(monitor.current()).toBeGreaterThan(before);
    expect(stable(monitor)).toBe(true);
    // Heard on the new LISTEN.
    const heardAt = monitor.current();
    heard.notify("2");
    expect(monitor.current()).toBe(heardAt + 1);
    // Trusted again, another poll listens anew no more.
    await monitor.poll();
    await relistened();
    expect(heard.listens).toBe(2);
  });

  test("a poll sent before the new LISTEN was in place, answering after it, confirms nothing", async () => {
    const { db, heard, monitor } = await startedMonitor();
    db.mode = "fail";
    await monitor.poll();
    db.mode = "answer";
    await monitor.poll();
    db.mode = "hang";
    const early = monitor.poll();
    await relistened();
    expect(heard.listens).toBe(2);
    db.hanging[0]!.resolve([{ version: "0" }]);
    expect(await early).toBe(false);
    expect(stable(monitor)).toBe(false);
  });

  test("a LISTEN refused keeps nothing trusted, and the next poll that answers tries again", async () => {
    const { db, heard, monitor } = await startedMonitor();
    db.mode = "fail";
    await monitor.poll();
    db.mode = "answer";
    heard.refuse = true;
    await monitor.poll();
    await relistened();
    expect(await monitor.poll()).toBe(false);
    expect(stable(monitor)).toBe(false);
    heard.refuse = false;
    await relistened();
    await monitor.poll();
    await relistened();
    expect(await monitor.poll()).toBe(true);
    expect(stable(monitor)).toBe(true);
    expect([heard.listens, heard.open]).toEqual([4, 1]);
  });

  test("a poll failing while the new LISTEN is made keeps nothing trusted until another one is made", async () => {
    const { db, heard, monitor } = await startedMonitor();
    db.mode = "fail";
    await monitor.poll();
    db.mode = "answer";
    await monitor.poll();
    db.mode = "fail";
    await monitor.poll();
    await relistened();
    db.mode = "answer";
    expect(await monitor.poll()).toBe(false);
    await relistened();
    expect(await monitor.poll()).toBe(true);
    expect([heard.listens, heard.open]).toEqual([3, 1]);
  });

  test("close() while the new LISTEN is made leaves nothing listening", async () => {
    const { db, heard, monitor } = await startedMonitor();
    db.mode = "fail";
    await monitor.poll();
    db.mode = "answer";
    await monitor.poll();
    await monitor.close();
    await relistened();
    expect(heard.open).toBe(0);
    expect(await monitor.poll()).toBe(false);
    expect(heard.listens).toBeLessThanOrEqual(2);
  });
});
