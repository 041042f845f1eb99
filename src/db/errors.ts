/**
 * A write on the connection outside the write transaction open on it (see sqlite-writes.ts): refused
 * rather than let it commit, or roll back, with another caller's work. That transaction ends within
 * the current turn of the event loop, so a retry goes through.
 */
export class WriteInProgressError extends Error {
  constructor() {
    super("a write transaction is open on this connection: this write is refused; try again");
  }
}

/**
 * A database error worth a retry rather than a 500: SQLite's "database is locked" (another
 * process, the CLI or a restore, held the write lock past the busy timeout), as bun:sqlite throws
 * it or as drizzle wraps it in its query error, and a write refused while a transaction was open.
 */
export function isTransientDbError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === "SQLITE_BUSY" || e instanceof WriteInProgressError) return true;
  }
  return false;
}
