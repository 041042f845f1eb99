import type { Database } from "bun:sqlite";

/**
 * Above this, a change committed by another connection (the CLI, another Keyward, a restore) may
 * go unseen by the caches. Reading `PRAGMA data_version` costs a few microseconds on a WAL file,
 * more than a whole cached token check, so it is read at most this often rather than per request.
 */
export const OTHER_CONNECTIONS_POLL_MS = 500;

/** What caches and writes need of a change monitor, on either engine (see postgres-changes.ts). */
export type Changes = Pick<ChangeMonitor, "current" | "changed">;

/**
 * Tells the caches below the routes when what they hold may be stale. `generation` moves on every
 * write statement this process runs (drizzle reports each one, so no write can forget to say so)
 * and, checked at most every `pollMs`, when SQLite's data_version shows another connection
 * committed. Bookkeeping writes (usage counts, sightings, batched audit events, pruning) touch
 * nothing a cache holds and are not reported (Store.bookkeeping), or the hot-path caches would be
 * emptied every second.
 */
export class ChangeMonitor {
  private generation = 0;
  private dataVersion: number;
  private checkedAt = 0;
  private readonly readVersion;

  constructor(
    sqlite: Database,
    private readonly pollMs = OTHER_CONNECTIONS_POLL_MS,
  ) {
    this.readVersion = sqlite.prepare<{ data_version: number }, []>("PRAGMA data_version");
    this.dataVersion = this.readVersion.get()!.data_version;
  }

  /** The current generation: a cache whose entries were read under another one drops them. */
  current(now = Date.now()): number {
    if (now - this.checkedAt >= this.pollMs || now < this.checkedAt) {
      this.checkedAt = now;
      const version = this.readVersion.get()!.data_version;
      if (version !== this.dataVersion) {
        this.dataVersion = version;
        this.generation++;
      }
    }
    return this.generation;
  }

  /** For drizzle's logger hook: every statement this connection runs passes here. */
  statement(sql: string): void {
    if (!sql.startsWith("select")) this.generation++;
  }

  /** For writes made outside drizzle (a restore swaps whole tables through the raw handle). */
  changed(): void {
    this.generation++;
  }
}
