import { PgChangeMonitor, type ChangeSignalClient } from "../../src/db/postgres-changes";

export const STALE_MS = 750;

type PendingPoll = PromiseWithResolvers<{ version: unknown }[]> & { cancelled: boolean };

/**
 * A stand-in for Bun's SQL pool: each poll answers the database's `version` at once, fails, or
 * hangs until the test settles it; LISTEN hands the test the monitor's two callbacks, or fails
 * while `heard.refuse` is set.
 */
export function fakeDatabase() {
  const db = { version: "0" as unknown, mode: "answer" as "answer" | "fail" | "throw" | "hang", hanging: [] as PendingPoll[], polls: 0 };
  const heard = { listens: 0, unlistens: 0, open: 0, refuse: false, notify: (_payload: string) => {}, reconnect: () => {} };
  const client: ChangeSignalClient = Object.assign(
    () => {
      db.polls++;
      if (db.mode === "throw") throw new Error("connection closed");
      const poll: PendingPoll = { ...Promise.withResolvers<{ version: unknown }[]>(), cancelled: false };
      if (db.mode === "answer") poll.resolve([{ version: db.version }]);
      else if (db.mode === "fail") poll.reject(new Error("Failed to connect"));
      else db.hanging.push(poll);
      return Object.assign(poll.promise, { cancel: () => (poll.cancelled = true) });
    },
    {
      async listen(_channel: string, onnotify: (payload: string) => void, onlisten?: () => void) {
        heard.listens++;
        if (heard.refuse) throw new Error("Failed to connect");
        heard.open++;
        heard.notify = onnotify;
        heard.reconnect = () => onlisten?.();
        onlisten?.();
        let open = true;
        return { unlisten: async () => void (heard.unlistens++, open && heard.open--, (open = false)) };
      },
    },
  );
  return { db, heard, client };
}

/** A started monitor on a fake database and a clock the test moves; the timer never fires. */
export async function startedMonitor() {
  const { db, heard, client } = fakeDatabase();
  const clock = { now: 1_000_000 };
  const monitor = new PgChangeMonitor(client, { pollMs: 3_600_000, staleMs: STALE_MS, clock: () => clock.now });
  await monitor.start();
  return { db, heard, clock, monitor };
}

/** Whether two calls in a row agree: a confirmed monitor's generation stands still. */
export const stable = (monitor: PgChangeMonitor) => monitor.current() === monitor.current();

/** Lets a LISTEN anew, started by a poll, finish on the fake (it settles within a few turns). */
export const relistened = () => Bun.sleep(0);
