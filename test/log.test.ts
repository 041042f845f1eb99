import { describe, expect, test } from "bun:test";
import { createLogger, droppingSink } from "../src/log";

describe("the logger", () => {
  test("once its output fails (EPIPE), it drops lines instead of throwing on every one", () => {
    let writes = 0;
    let flushes = 0;
    const deadPipe = {
      write: () => writes++,
      flush: () => {
        flushes++;
        throw new Error("EPIPE: broken pipe, write");
      },
    };
    const log = createLogger({ logLevel: "info", logFormat: "json" }, droppingSink(deadPipe));
    log.info("first");
    expect(() => log.flush()).not.toThrow();
    for (let i = 0; i < 100; i++) log.info("dropped");
    expect(() => log.flush()).not.toThrow();
    expect([writes, flushes]).toEqual([1, 1]);
  });

  test("a writer whose flush rejects later is given up on too", async () => {
    let writes = 0;
    const sink = droppingSink({ write: () => writes++, flush: () => Promise.reject(new Error("EPIPE")) });
    sink.write("one\n");
    sink.flush();
    await Bun.sleep(0);
    sink.write("two\n");
    expect(writes).toBe(1);
  });

  test("text lines show a client's control characters as escapes", () => {
    const lines: string[] = [];
    const log = createLogger({ logLevel: "info", logFormat: "text" }, { write: (text) => void lines.push(text), flush: () => {} });
    log.warn("login failed", { user: "\x1b[2Jmallory\rroot", ip: "10.0.0.1" });
    expect(lines[0]).toEndWith(" WARN  login failed user=\\x1b[2Jmallory\\x0droot ip=10.0.0.1\n");
  });

  test("JSON lines keep a client's text exact but carry no raw control or bidi character", () => {
    const lines: string[] = [];
    const log = createLogger({ logLevel: "info", logFormat: "json" }, { write: (text) => void lines.push(text), flush: () => {} });
    log.warn("login failed", { user: "\x1b[2Jmallory\x9b\u202Eroot" });
    expect(lines[0]).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ user: "\x1b[2Jmallory\x9b\u202Eroot" });
  });
});
