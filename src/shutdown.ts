import type { Logger } from "./log";

/** SIGTERM ends the process within this after the drain (KEYWARD_STOP_DRAIN), whatever hangs: a handler, a client, a dead log pipe. */
export const STOP_MARGIN_MS = 7_000;
/** After closing those connections, how long their handlers get to unwind before the database closes. */
const UNWIND_MS = 1_000;
/** Once stopped, how long a stalled reader of our output gets before the process exits anyway. */
const LINGER_MS = 1_000;

/** Counts handlers still running, and lets the stop wait until none is (or a time is up). */
export interface HandlerCount {
  /** A request's handling begins (see http/envelope.ts); each is matched by one `exit`. */
  enter(): void;
  exit(): void;
  running(): number;
  /** Resolves true once no handler runs, or false when `timeoutMs` passed first. */
  idle(timeoutMs: number): Promise<boolean>;
}

/**
 * Bun's stop() resolves once connections close, but a handler whose client went away (or that
 * awaits an argon2id hash) may still be running, and must not find the database closed under it.
 */
export function countHandlers(): HandlerCount {
  let running = 0;
  const waiters = new Set<() => void>();
  return {
    enter() {
      running++;
    },
    exit() {
      // Every request ends here: no iterator over an empty set unless a stop waits.
      if (--running === 0 && waiters.size > 0) for (const wake of waiters) wake();
    },
    running: () => running,
    idle(timeoutMs) {
      if (running === 0) return Promise.resolve(true);
      const { promise, resolve } = Promise.withResolvers<boolean>();
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      waiters.add(wake);
      return promise;
    },
  };
}

export interface StopSteps {
  log: Logger;
  handlers: HandlerCount;
  /** How long requests in flight get to finish before their connections are closed. */
  drainMs: number;
  /** Stops listening; with `force`, also closes connections whose requests are still running. */
  stopListening(force: boolean): Promise<void>;
  /** Writes what is batched in memory and closes the database. Called at most once. */
  close(): Promise<void>;
}

/**
 * On the first SIGTERM or SIGINT: stop listening, let requests in flight finish (up to drainMs),
 * close what still hangs, write what is batched, close the database; the returned promise then
 * resolves, and the process ends within LINGER_MS. A timer exits anyway STOP_MARGIN_MS after the drain, and a
 * second signal exits at once: a stop that hangs must never leave a process that ignores SIGTERM.
 */
export function stopOnSignals({ log, handlers, drainMs, stopListening, close }: StopSteps): Promise<void> {
  const deadlineMs = drainMs + STOP_MARGIN_MS;
  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  let closed = false;
  const closeOnce = async () => {
    if (closed) return;
    closed = true;
    try {
      await close();
    } catch (error) {
      log.error("could not write usage counts and audit events before stopping", { error: String(error) });
    }
  };
  const exitNow = async (code: number, message: string, fields: Record<string, string | number>) => {
    log.error(message, fields);
    // The last writes get a moment, never more: whatever hangs, the process ends.
    await Promise.race([closeOnce(), Bun.sleep(UNWIND_MS)]);
    log.flush();
    process.exit(code);
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return exitNow(signal === "SIGINT" ? 130 : 143, "second signal: stopping at once", { signal });
    stopping = true;
    // Unref'd: it must not be the thing that keeps a finished process alive.
    setTimeout(() => exitNow(1, "did not stop in time: exiting anyway", { after_ms: deadlineMs, running: handlers.running() }), deadlineMs).unref();
    log.info("stopping", { signal });
    stopListening(false).catch(() => undefined);
    if (!(await handlers.idle(drainMs))) {
      log.warn("requests still running: closing their connections", { after_ms: drainMs, running: handlers.running() });
      stopListening(true).catch(() => undefined);
      await handlers.idle(UNWIND_MS);
    }
    await closeOnce();
    log.info("stopped");
    log.flush();
    // Lines still queued for a pipe nobody reads would keep the process alive until the deadline.
    setTimeout(() => process.exit(0), LINGER_MS).unref();
    stopped.resolve();
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  return stopped.promise;
}
