/**
 * A database error worth a retry rather than a 500: SQLite's "database is locked" (another
 * process, the CLI or a restore, held the write lock past the busy timeout), as bun:sqlite throws
 * it or as drizzle wraps it in its query error.
 */
export function isTransientDbError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === "SQLITE_BUSY") return true;
  }
  return false;
}
