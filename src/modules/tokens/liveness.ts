import { and, gt, isNull, lte, or, type Column, type SQL } from "drizzle-orm";

/** The two ends of a token's life, as rows (Date) or the verifier's cache (milliseconds) hold them. */
export interface Lifespan<T extends Date | number> {
  revokedAt: T | null;
  expiresAt: T | null;
}

/**
 * Why a token does not work at `at`, or null while it does. Revocation is named first: a revoked
 * token stays revoked once it also expires. Both ends are exclusive: at `expiresAt` it has ended.
 * A `revokedAt` in the future is a rotated token's grace period, still running.
 */
export function whyNotLive<T extends Date | number>(token: Lifespan<T>, at: T): "revoked" | "expired" | null {
  if (token.revokedAt !== null && token.revokedAt <= at) return "revoked";
  if (token.expiresAt !== null && token.expiresAt <= at) return "expired";
  return null;
}

/** Whether a token authenticates at `at`: for verification, listing, bootstrap and rotation alike. */
export const isLive = <T extends Date | number>(token: Lifespan<T>, at: T): boolean => whyNotLive(token, at) === null;

/**
 * The columns a lifespan is stored in: API tokens' and device tokens' tables both have them. The
 * caller's, from the tables of the engine it queries (tablesOf), so `at` is bound as that engine stores it.
 */
type LifespanColumns = { revokedAt: Column; expiresAt: Column };

/** `isLive` as a query condition: the rows it holds for, and no others (tested side by side). */
export const liveAt = (at: Date, table: LifespanColumns): SQL =>
  and(or(isNull(table.revokedAt), gt(table.revokedAt, at)), or(isNull(table.expiresAt), gt(table.expiresAt, at)))!;

/** The rows `liveAt` leaves out. */
export const notLiveAt = (at: Date, table: LifespanColumns): SQL => or(lte(table.revokedAt, at), lte(table.expiresAt, at))!;
