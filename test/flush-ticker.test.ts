import { describe, expect, test } from "bun:test";
import { finalFlush, flushTick, REPEAT_FAILURE_MS } from "../src/flush-ticker";
import { memoryLogger } from "./helpers/memory-log";

/** A tick over a flush that fails while `down` is set, on a clock the test moves. */
function ticker() {
  const log = memoryLogger();
  const state = { down: false, now: 0, flushes: 0 };
  const tick = flushTick(
    async () => {
      state.flushes++;
      if (state.down) throw new Error("PostgresError: Failed to connect");
    },
    log,
    () => state.now,
  );
  return { log, state, tick, messages: () => log.lines.map((line) => line.msg) };
}

describe("the flush timer during a database outage", () => {
  test("an outage of ten minutes at a tick a second logs a line when it begins, one a minute, and one when it ends", async () => {
    const { state, tick, messages, log } = ticker();
    await tick();
    state.down = true;
    for (let second = 1; second <= 600; second++) {
      state.now = second * 1000;
      await tick();
    }
    state.down = false;
    state.now = 601_000;
    await tick();
    expect(state.flushes).toBe(602);
    const failures = messages().filter((msg) => String(msg).includes("write usage counts"));
    expect(failures.length).toBe(1 + Math.floor((600_000 - 1000) / REPEAT_FAILURE_MS));
    expect(messages().at(-1)).toBe("usage counts and audit events written again");
    expect(log.lines.at(-1)).toMatchObject({ failures: 600, after_ms: 600_000 });
  });

  test("a second outage is reported from its start again", async () => {
    const { state, tick, messages } = ticker();
    state.down = true;
    await tick();
    state.down = false;
    await tick();
    state.down = true;
    state.now = 5000;
    await tick();
    expect(messages()).toEqual([
      "could not write usage counts and audit events; will retry",
      "usage counts and audit events written again",
      "could not write usage counts and audit events; will retry",
    ]);
  });

  test("a tick while the previous flush still waits on the database skips rather than queue another", async () => {
    const log = memoryLogger();
    const pending = Promise.withResolvers<void>();
    let flushes = 0;
    const tick = flushTick(() => (flushes++, pending.promise), log);
    const first = tick();
    await Promise.all([tick(), tick(), tick()]);
    expect(flushes).toBe(1);
    pending.resolve();
    await first;
    await tick();
    expect(flushes).toBe(2);
    expect(log.lines).toEqual([]);
  });
});

describe("the last flush, at a stop", () => {
  const unreachable = () => Object.assign(new Error("Connection refused"), { code: "ERR_POSTGRES_CONNECTION_REFUSED" });

  test("waits out a database briefly out of reach, then writes", async () => {
    let calls = 0;
    await finalFlush(async () => {
      if (++calls < 3) throw unreachable();
    }, 5_000);
    expect(calls).toBe(3);
  });

  test("gives up past its bound, and at once on an error a retry cannot fix", async () => {
    let clock = 0;
    let calls = 0;
    const down = finalFlush(
      async () => {
        calls++;
        clock += 1_000;
        throw unreachable();
      },
      2_500,
      () => clock,
    );
    await expect(down).rejects.toThrow("Connection refused");
    expect(calls).toBeLessThanOrEqual(3);
    let broken = 0;
    const failing = finalFlush(async () => {
      broken++;
      throw new Error("no such table: tokens");
    });
    await expect(failing).rejects.toThrow("no such table");
    expect(broken).toBe(1);
  });
});
