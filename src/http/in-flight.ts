import { Elysia } from "elysia";

/**
 * Counts requests being handled, so shutdown can wait for the last one: Bun's server.stop()
 * stops accepting, but a handler still awaiting (an argon2id hash, say) may outlive it, and must
 * not find the database closed.
 */
export function inFlight() {
  let count = 0;
  const plugin = new Elysia({ name: "keyward/in-flight" })
    .onRequest(() => {
      count++;
    })
    .onAfterResponse({ as: "global" }, () => {
      count--;
    });
  return {
    plugin,
    async drained(timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (count > 0 && Date.now() < deadline) await Bun.sleep(5);
    },
  };
}
