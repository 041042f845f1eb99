/**
 * Waits until `ready()` holds, checking every few milliseconds: a readiness check, never a fixed
 * sleep. Throws with `what` when `timeoutMs` passes first, so a wait that never ends fails the test.
 */
export async function until(ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms: ${what}`);
    await Bun.sleep(10);
  }
}
