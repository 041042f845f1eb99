import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ChangeBoundCache } from "../../src/db/change-bound-cache";
import type { Changes } from "../../src/db/changes";
import { PgChangeMonitor } from "../../src/db/postgres-changes";
import { fakeDatabase, relistened, STALE_MS, stable, startedMonitor } from "../helpers/fake-change-signal";

describe("the PostgreSQL change monitor, on a fake database and clock", () => {
  test("it fits where the SQLite monitor goes, and a cache over it keeps entries only while confirmed", async () => {
    const { clock, monitor } = await startedMonitor();
    const asSqlite: Changes = monitor;
    const cache = new ChangeBoundCache<string>(asSqlite, 10);
    cache.set("token", "alice", cache.current(clock.now), clock.now);
    expect(cache.get("token", clock.now)).toBe("alice");
    clock.now += STALE_MS + 1;
    expect(cache.get("token", clock.now)).toBeUndefined();
    cache.set("token", "alice", cache.current(clock.now), clock.now);
    expect(cache.get("token", clock.now)).toBeUndefined();
    expect(cache.through("token", clock.now, () => "read")).toBe("read");
    expect(cache.get("token", clock.now)).toBeUndefined();
    await monitor.poll();
    cache.set("token", "alice", cache.current(clock.now), clock.now);
    expect(cache.get("token", clock.now)).toBe("alice");
  });

  test("confirmed, the generation is stable; stale past staleMs since the last poll was SENT, it is new on every call", async () => {
    const { db, clock, monitor } = await startedMonitor();
    expect(stable(monitor)).toBe(true);
    expect(monitor.healthy()).toBe(true);

    db.mode = "hang";
    const slow = monitor.poll();
    const sentAt = clock.now;
    clock.now += 600;
    db.hanging.shift()!.resolve([{ version: "0" }]);
    expect(await slow).toBe(true);
    // Confirmed as of when the read was sent, not when it came back.
    clock.now = sentAt + STALE_MS;
    expect(stable(monitor)).toBe(true);
    clock.now = sentAt + STALE_MS + 1;
    const seen = new Set(Array.from({ length: 100 }, () => monitor.current()));
    expect(seen.size).toBe(100);
    expect(monitor.healthy()).toBe(false);

    for (const mode of ["fail", "throw"] as const) {
      db.mode = mode;
      expect(await monitor.poll()).toBe(false);
      expect(stable(monitor)).toBe(false);
    }

    // Answering again, it first listens anew (see postgres-changes-relisten.test.ts).
    db.mode = "answer";
    expect(await monitor.poll()).toBe(false);
    await relistened();
    expect(await monitor.poll()).toBe(true);
    expect(stable(monitor)).toBe(true);
    expect(monitor.healthy()).toBe(true);
  });

  test("a poll moves the generation when the version differs, lower included (a recreated database), never when it is the same", async () => {
    const { db, monitor } = await startedMonitor();
    const before = monitor.current();
    await monitor.poll();
    expect(monitor.current()).toBe(before);
    db.version = "3";
    await monitor.poll();
    expect(monitor.current()).toBe(before + 1);
    await monitor.poll();
    expect(monitor.current()).toBe(before + 1);
    db.version = "1";
    await monitor.poll();
    expect(monitor.current()).toBe(before + 2);
  });

  test("versions past 2^53 compare exactly, as int8 arrives: a string, or a bigint with Bun's bigint option", async () => {
    const { db, heard, monitor } = await startedMonitor();
    db.version = "9223372036854775806";
    await monitor.poll();
    const at = monitor.current();
    db.version = 9223372036854775806n;
    await monitor.poll();
    heard.notify("9223372036854775806");
    expect(monitor.current()).toBe(at);
    heard.notify("9223372036854775807");
    expect(monitor.current()).toBe(at + 1);
  });

  test("a poll that answers nothing usable confirms nothing", async () => {
    for (const version of [undefined, null, "12abc", 1.5, "", {}]) {
      const { db, clock, monitor } = await startedMonitor();
      db.version = version;
      clock.now += STALE_MS + 1;
      expect(await monitor.poll()).toBe(false);
      expect(monitor.healthy()).toBe(false);
    }
  });

  test("a notification newer than the polled version moves the generation; an old one, or the same, moves nothing; only a poll sets the version", async () => {
    const { db, heard, monitor } = await startedMonitor();
    const before = monitor.current();
    heard.notify("1");
    expect(monitor.current()).toBe(before + 1);
    heard.notify("0");
    expect(monitor.current()).toBe(before + 1);
    // What was heard is not taken for the database's version: the poll that reads it empties again.
    db.version = "1";
    await monitor.poll();
    expect(monitor.current()).toBe(before + 2);
    heard.notify("1");
    expect(monitor.current()).toBe(before + 2);
  });

  test("a forged NOTIFY of the next version (any role that may connect can send one) cannot hide the real change it names", async () => {
    const { db, heard, monitor } = await startedMonitor();
    heard.notify("1");
    // A revoked token read between the forgery and the real change is cached under this generation.
    const cachedAt = monitor.current();
    heard.notify("1");
    expect(monitor.current()).toBe(cachedAt + 1);
    db.version = "1";
    await monitor.poll();
    expect(monitor.current()).toBeGreaterThan(cachedAt + 1);
  });

  test("a notification nobody's trigger wrote (anyone may NOTIFY the channel) is taken as a change and never throws", async () => {
    const { heard, monitor } = await startedMonitor();
    let at = monitor.current();
    for (const payload of ["", "x", "1e3", " 5", "99999999999999999999999", "\u0000"]) {
      heard.notify(payload);
      expect(monitor.current()).toBe(++at);
    }
  });

  test("the first LISTEN moves nothing; every re-LISTEN after a reconnect moves the generation (notifications were lost)", async () => {
    const { heard, monitor } = await startedMonitor();
    expect(heard.listens).toBe(1);
    const before = monitor.current();
    heard.reconnect();
    expect(monitor.current()).toBe(before + 1);
    heard.reconnect();
    expect(monitor.current()).toBe(before + 2);
  });

  test("this process's committed writes move the generation at once", async () => {
    const { monitor } = await startedMonitor();
    const before = monitor.current();
    monitor.changed();
    expect(monitor.current()).toBe(before + 1);
  });

  test("polls never overlap; one stuck past staleMs is cancelled and the next starts; at most two are given up at once", async () => {
    const { db, clock, monitor } = await startedMonitor();
    db.mode = "hang";
    const first = monitor.poll();
    clock.now += STALE_MS;
    expect(await monitor.poll()).toBe(false);
    expect(db.polls).toBe(2);

    clock.now += 1;
    void monitor.poll();
    expect(db.polls).toBe(3);
    expect(db.hanging.map((p) => p.cancelled)).toEqual([true, false]);
    clock.now += STALE_MS + 1;
    void monitor.poll();
    clock.now += STALE_MS + 1;
    expect(await monitor.poll()).toBe(false);
    expect(db.polls).toBe(4);
    expect(monitor.healthy()).toBe(false);

    // A given-up poll settles (failing), which makes room: the stuck one is given up, a new one confirms.
    db.hanging[0]!.reject(new Error("canceling statement due to user request"));
    expect(await first).toBe(false);
    db.mode = "answer";
    expect(await monitor.poll()).toBe(false);
    expect(db.polls).toBe(5);
    expect(db.hanging.map((p) => p.cancelled)).toEqual([true, true, true]);
    await relistened();
    expect(await monitor.poll()).toBe(true);
    expect(monitor.healthy()).toBe(true);
  });

  test("a given-up poll that answers after a later-sent one changes nothing: the later read is the newer news", async () => {
    const { db, clock, monitor } = await startedMonitor();
    db.mode = "hang";
    const old = monitor.poll();
    clock.now += STALE_MS + 1;
    const fresh = monitor.poll();
    db.hanging[1]!.resolve([{ version: "5" }]);
    expect(await fresh).toBe(true);
    const at = monitor.current();
    const confirmedUntil = clock.now + STALE_MS;
    db.hanging[0]!.resolve([{ version: "4" }]);
    expect(await old).toBe(true);
    expect(monitor.current()).toBe(at);
    clock.now = confirmedUntil;
    expect(stable(monitor)).toBe(true);
  });

  test("a clock stepped back by more than staleMs fails closed until a poll confirms again", async () => {
    const { clock, monitor } = await startedMonitor();
    clock.now -= STALE_MS + 1;
    expect(stable(monitor)).toBe(false);
    await monitor.poll();
    expect(stable(monitor)).toBe(true);
  });

  test("a first read that fails rejects start() and leaves no LISTEN open; before start nothing is trusted", async () => {
    for (const [mode, version, message] of [
      ["fail", "0", "Failed to connect"],
      ["answer", undefined, "keyward_state has no version row"],
    ] as const) {
      const { db, heard, client } = fakeDatabase();
      db.mode = mode;
      db.version = version;
      const monitor = new PgChangeMonitor(client);
      expect(stable(monitor)).toBe(false);
      await expect(monitor.start()).rejects.toThrow(message);
      expect([heard.listens, heard.unlistens]).toEqual([1, 1]);
      expect(stable(monitor)).toBe(false);
      await monitor.close();
      expect(heard.unlistens).toBe(1);
    }
  });

  test("close() is idempotent: one UNLISTEN, the poll in flight cancelled, nothing trusted or polled afterwards", async () => {
    const { db, heard, monitor } = await startedMonitor();
    db.mode = "hang";
    void monitor.poll();
    await Promise.all([monitor.close(), monitor.close()]);
    await monitor.close();
    expect(heard.unlistens).toBe(1);
    expect(db.hanging[0]!.cancelled).toBe(true);
    expect(stable(monitor)).toBe(false);
    expect(await monitor.poll()).toBe(false);
    expect(db.polls).toBe(2);
    heard.notify("7");
    db.hanging[0]!.resolve([{ version: "0" }]);
    expect(monitor.healthy()).toBe(false);
    await expect(monitor.start()).rejects.toThrow("after close()");
  });

  test("close() during start() still leaves nothing listening or polling", async () => {
    const { db, heard, client } = fakeDatabase();
    db.mode = "hang";
    const monitor = new PgChangeMonitor(client, { pollMs: 5 });
    const starting = monitor.start();
    await Bun.sleep(0);
    const closing = monitor.close();
    db.hanging[0]!.resolve([{ version: "0" }]);
    await Promise.all([starting, closing]);
    expect(heard.unlistens).toBe(1);
    await Bun.sleep(30);
    expect(db.polls).toBe(1);
    expect(monitor.healthy()).toBe(false);
  });

  test("its timer polls every pollMs on the real clock, and never keeps a process alive", async () => {
    const script = `
      import { PgChangeMonitor } from ${JSON.stringify(join(import.meta.dir, "../../src/db/postgres-changes.ts"))};
      let polls = 0;
      const query = () => (polls++, Object.assign(Promise.resolve([{ version: "0" }]), { cancel() {} }));
      await new PgChangeMonitor(Object.assign(query, { listen: async () => ({ unlisten: async () => {} }) }), { pollMs: 10 }).start();
      setTimeout(() => console.log(polls), 120);`;
    const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe", timeout: 5_000 });
    const [code, printed] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    expect(code).toBe(0);
    expect(Number(printed)).toBeWithin(6, 15);
  });
});
