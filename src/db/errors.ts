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

/** Bun's own PostgreSQL errors that mean "not reachable now": the server went away, refused or timed out. */
const PG_UNREACHABLE = new Set([
  "ERR_POSTGRES_CONNECTION_CLOSED",
  "ERR_POSTGRES_CONNECTION_REFUSED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
  "ERR_POSTGRES_IDLE_TIMEOUT",
  "ERR_POSTGRES_LIFETIME_TIMEOUT",
  "ERR_POSTGRES_QUERY_CANCELLED",
]);

/**
 * SQLSTATE classes and codes a retry can get past: a connection lost (08), an administrator or
 * crash shutdown, a server still starting (57P0x), a serialization failure or deadlock (40), a
 * lock not granted within lock_timeout (55P03), too many connections (53300).
 */
const PG_RETRYABLE = /^(08...|57P0[1-4]|40001|40P01|55P03|53300)$/;

/**
 * A database error worth a retry rather than a 500: SQLite's "database is locked" (another
 * process, the CLI or a restore, held the write lock past the busy timeout), a write refused
 * while a transaction was open, or PostgreSQL out of reach or refusing for now; as the driver
 * throws it or as drizzle wraps it in its query error.
 */
export function isTransientDbError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (e instanceof WriteInProgressError) return true;
    const { code, errno } = e as { code?: unknown; errno?: unknown };
    if (code === "SQLITE_BUSY" || PG_UNREACHABLE.has(String(code)) || (typeof errno === "string" && PG_RETRYABLE.test(errno))) return true;
  }
  return false;
}
