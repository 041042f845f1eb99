import { isTransientDbError } from "./db/errors";
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

/** At a stop, how long a database briefly out of reach (restarting, failing over) is waited for. */
export const FINAL_FLUSH_MS = 5_000;
const FINAL_RETRY_MS = 250;

/**
 * The last flush, at a stop: retried while the database is out of reach, for up to `withinMs`
 * (inside the stop's own bound), so that a stop during a short outage still writes what is held.
 * Any other failure, or one that lasts, is thrown at once.
 */
export async function finalFlush(flush: () => Promise<void>, withinMs = FINAL_FLUSH_MS, now: () => number = Date.now): Promise<void> {
  const until = now() + withinMs;
  for (;;) {
    try {
      return await flush();
    } catch (error) {
      if (!isTransientDbError(error) || now() + FINAL_RETRY_MS > until) throw error;
      await Bun.sleep(FINAL_RETRY_MS);
    }
  }
}
