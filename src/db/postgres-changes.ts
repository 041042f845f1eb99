/** The channel that migrations-postgres/0001_change_signal.sql's trigger notifies. */
const CHANNEL = "keyward_changes";

/**
 * A poll stuck past staleMs (a half-open connection after a failover) is given up and the next
 * one starts on another connection; past this many given up and still pending, none starts until
 * one settles, so an unreachable server never piles up queries in the pool.
 */
const MAX_ABANDONED_POLLS = 2;

type PollQuery = Promise<{ version: unknown }[]> & { cancel(): unknown };

/** What the monitor uses of Bun's `SQL` client (a pool): one query and LISTEN. Tests pass a fake. */
export interface ChangeSignalClient {
  (strings: TemplateStringsArray): PollQuery;
  listen(channel: string, onnotify: (payload: string) => void, onlisten?: () => void): Promise<{ unlisten(): Promise<void> }>;
}

export interface PgChangeMonitorOptions {
  /** How often keyward_state is read: the bound on noticing a change whose NOTIFY was lost. */
  pollMs?: number;
  /** Past this since the last confirming poll was sent, nothing cached is trusted. */
  staleMs?: number;
  /** Must be the clock whose `now` callers pass to current(). */
  clock?: () => number;
}

/** A version as PostgreSQL's int8 arrives (a string by default), or undefined for anything else. */
function parseVersion(value: unknown): bigint | undefined {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d{1,19}$/.test(value)) return BigInt(value);
  return undefined;
}

interface Poll {
  sentAt: number;
  query: PollQuery;
  abandoned: boolean;
}

/**
 * ChangeMonitor for PostgreSQL, where other instances and the CLI write the same database. A
 * trigger bumps keyward_state.version and NOTIFYs on every change a cache could hold; this hears
 * it within milliseconds and polls the version every pollMs in case a notification was lost.
 * current() stays synchronous and I/O-free for the hot path. It fails closed: unless a poll sent
 * within staleMs succeeded, it returns a new generation on every call, so caches keep nothing and
 * every check reads the database (an outage then answers 503, never a stale accept).
 */
export class PgChangeMonitor {
  private generation = 0;
  private version: bigint | undefined;
  /** When the last successful poll was sent: everything committed before it has been seen. */
  private confirmedAt = -Infinity;
  private listens = 0;
  private pollsSent = 0;
  private pollsApplied = 0;
  /** Only a poll sent after this one can confirm: the last LISTEN was in place before it was sent. */
  private listenedBefore = 0;
  private failedPolls = 0;
  private relistening: Promise<void> | undefined;
  private inFlight: Poll | undefined;
  private abandoned = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private subscription: { unlisten(): Promise<void> } | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly pollMs: number;
  private readonly staleMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly sql: ChangeSignalClient,
    { pollMs = 250, staleMs = 750, clock = Date.now }: PgChangeMonitorOptions = {},
  ) {
    this.pollMs = pollMs;
    this.staleMs = staleMs;
    this.clock = clock;
  }

  /** Subscribes, then reads the version once (which must succeed), then polls on a timer. */
  start(): Promise<void> {
    if (this.starting || this.closing) return Promise.reject(new Error("PgChangeMonitor.start() called twice or after close()"));
    return (this.starting = this.begin());
  }

  private async begin(): Promise<void> {
    // LISTEN before the first read, so nothing committed in between goes unheard.
    this.subscription = await this.sql.listen(CHANNEL, this.heard, this.subscribed);
    try {
      const sentAt = this.clock();
      const confirmed = this.confirm(++this.pollsSent, sentAt, await this.read());
      if (this.closing) return;
      if (!confirmed) throw new Error("keyward_state has no version row: are the PostgreSQL migrations applied?");
    } catch (error) {
      // A monitor that failed to start holds no connection open.
      await this.subscription.unlisten().catch(() => {});
      this.subscription = undefined;
      throw error;
    }
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    // A monitor never keeps the process alive (the LISTEN connection does until close()).
    this.timer.unref();
  }

  /** The current generation: a cache whose entries were read under another one drops them. */
  current(now = this.clock()): number {
    return this.stale(now) ? ++this.generation : this.generation;
  }

  /** Whether caches may be trusted now: a poll sent within staleMs succeeded (for /health). */
  healthy(now = this.clock()): boolean {
    return !this.stale(now);
  }

  /** After this process's write commits (postgres-client.ts), or a restore. */
  changed(): void {
    this.generation++;
  }

  /**
   * Reads the version now, unless a poll is already under way and not yet stuck. The timer calls
   * it; never rejects. True when it confirmed: caches may be trusted until staleMs after it was sent
   * (not after a failed poll: first a new LISTEN, see relisten).
   */
  async poll(): Promise<boolean> {
    if (this.closing) return false;
    const sentAt = this.clock();
    const previous = this.inFlight;
    if (previous) {
      if (Math.abs(sentAt - previous.sentAt) <= this.staleMs || this.abandoned >= MAX_ABANDONED_POLLS) return false;
      previous.abandoned = true;
      this.abandoned++;
      this.cancel(previous);
    }
    const flight: Poll = { sentAt, query: this.read(), abandoned: false };
    this.inFlight = flight;
    const sequence = ++this.pollsSent;
    try {
      const confirmed = this.confirm(sequence, sentAt, await flight.query);
      if (this.listenedBefore === Infinity) this.relisten();
      return confirmed && this.pollsApplied > this.listenedBefore;
    } catch {
      // The failure shows as healthy() turning false; callers decide what to log.
      this.failedPolls++;
      this.listenedBefore = Infinity;
      return false;
    } finally {
      if (this.inFlight === flight) this.inFlight = undefined;
      if (flight.abandoned) this.abandoned--;
    }
  }

  /** Stops polling and listening. Idempotent; afterwards current() fails closed. */
  close(): Promise<void> {
    return (this.closing ??= this.stop());
  }

  private async stop(): Promise<void> {
    this.confirmedAt = -Infinity;
    clearInterval(this.timer);
    if (this.inFlight) this.cancel(this.inFlight);
    await this.starting?.catch(() => {});
    await this.relistening;
    await this.subscription?.unlisten().catch(() => {});
  }

  /** Never throws: the timer's poll must not become an unhandled rejection, whatever the client does. */
  private read(): PollQuery {
    try {
      return this.sql`SELECT version FROM keyward_state WHERE id = 1`;
    } catch (error) {
      return Object.assign(Promise.reject(error), { cancel() {} });
    }
  }

  private stale(now: number): boolean {
    // Both ways: a clock stepped back must not stretch the window in which a cache is trusted.
    return this.pollsApplied <= this.listenedBefore || Math.abs(now - this.confirmedAt) > this.staleMs;
  }

  /**
   * After a failed poll the LISTEN connection has likely dropped too, and Bun reconnects it only
   * after a backoff (1 s, 2 s … about 30 s), when notifications would go unheard: once the database
   * answers again, LISTEN anew. Until then, and until a poll sent after it confirms, nothing cached
   * is trusted, so a change made meanwhile is read at once rather than at the next poll.
   */
  private relisten(): void {
    if (this.relistening || this.closing) return;
    const failed = this.failedPolls;
    this.relistening = (async () => {
      await this.subscription?.unlisten().catch(() => {});
      this.subscription = undefined;
      try {
        const subscription = await this.sql.listen(CHANNEL, this.heard, this.subscribed);
        this.subscription = subscription;
        if (this.failedPolls === failed) this.listenedBefore = this.pollsSent;
      } catch {
        // Still not listening: the next poll that succeeds tries again.
      } finally {
        this.relistening = undefined;
      }
    })();
  }

  /** Applies a poll's answer, unless a later-sent poll's answer was applied already. */
  private confirm(sequence: number, sentAt: number, rows: { version: unknown }[]): boolean {
    const version = parseVersion(rows[0]?.version);
    if (version === undefined || this.closing) return false;
    if (sequence < this.pollsApplied) return true;
    this.pollsApplied = sequence;
    this.confirmedAt = sentAt;
    // Any difference, lower too: a recreated or restored database starts its count again.
    if (version !== this.version) {
      this.version = version;
      this.generation++;
    }
    return true;
  }

  private readonly heard = (payload: string): void => {
    if (this.closing) return;
    const version = parseVersion(payload);
    // Only a poll sets the version: anyone who may connect may NOTIFY this channel, and a forged next
    // version adopted here would make the real change's NOTIFY, and every poll after it, look old.
    if (version !== undefined && this.version !== undefined && version <= this.version) return;
    this.generation++;
  };

  private readonly subscribed = (): void => {
    // After a reconnect: notifications sent while the connection was down are lost.
    if (this.listens++ > 0) this.generation++;
  };

  private cancel(poll: Poll): void {
    try {
      poll.query.cancel();
    } catch {
      // A query that already settled has nothing to cancel.
    }
  }
}
