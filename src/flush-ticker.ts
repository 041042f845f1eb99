import type { Logger } from "./log";

/** While flushes keep failing (the database is down), how often that is logged again. */
export const REPEAT_FAILURE_MS = 60_000;

/**
 * The flush timer's tick: writes what is batched in memory, logging a failure once when it begins,
 * again at most every REPEAT_FAILURE_MS, and once more when a flush succeeds again, so a long
 * outage costs a line a minute rather than a line a tick. A tick that finds the previous flush
 * still running (a database that does not answer) skips, so waiting writes never pile up.
 */
export function flushTick(flush: () => Promise<void>, log: Logger, now: () => number = Date.now): () => Promise<void> {
  let running = false;
  let failures = 0;
  let failingSince = 0;
  let loggedAt = 0;
  return async () => {
    if (running) return;
    running = true;
    try {
      await flush();
      if (failures > 0) log.info("usage counts and audit events written again", { failures, after_ms: now() - failingSince });
      failures = 0;
    } catch (error) {
      const at = now();
      if (failures++ === 0) {
        failingSince = loggedAt = at;
        log.error("could not write usage counts and audit events; will retry", { error: String(error) });
      } else if (at - loggedAt >= REPEAT_FAILURE_MS) {
        loggedAt = at;
        log.error("still cannot write usage counts and audit events; kept in memory, will retry", { error: String(error), failures, for_ms: at - failingSince });
      }
    } finally {
      running = false;
    }
  };
}
