import { and, eq, ne } from "drizzle-orm";
import { tablesOf, type Db, type Transaction } from "../../db/client";
import type { users } from "../../db/schema";
import { ADMIN_ROLE } from "../../lib/names";

export type Account = typeof users.$inferSelect;

let equalizer: Promise<string> | undefined;
/**
 * A real argon2id hash to verify against when there is no user (or no password), so every
 * refusal takes as long as a wrong password. Called once at start so the first refusal is not slower.
 */
export const timingEqualizer = () => (equalizer ??= Bun.password.hash("keyward timing equalizer", { algorithm: "argon2id" }));

const MAX_PASSWORD = 1024;

/**
 * The enabled account whose password this is, or null after the same argon2id work whatever was
 * wrong, so a caller cannot tell a missing user from a wrong password. `name` is canonical.
 */
export async function passwordAccount(db: Db, name: string | null, password: string | undefined): Promise<Account | null> {
  const { users } = tablesOf(db);
  const [account] = name === null ? [] : await db.select().from(users).where(eq(users.username, name));
  const given = password ?? "";
  // Bun answers an empty password at once; verifying a stand-in keeps the timing the same.
  const hash = account && given !== "" ? account.passwordHash : await timingEqualizer();
  const matches = await Bun.password.verify(given.slice(0, MAX_PASSWORD) || "-", hash);
  if (!account || !matches || given === "" || account.disabled || given.length > MAX_PASSWORD) return null;
  return account;
}

/**
 * Whether the account is still enabled with the password hash a login was checked against. What a
 * login hands out (a token, a session) is written in one write transaction with this check, so a
 * password change committed during the argon2id check is never outlived by it.
 */
export async function accountUnchanged(tx: Db | Transaction, name: string, passwordHash: string): Promise<boolean> {
  const { users } = tablesOf(tx);
  const [row] = await tx
    .select({ username: users.username })
    .from(users)
    .where(and(eq(users.username, name), eq(users.passwordHash, passwordHash), eq(users.disabled, false)));
  return row !== undefined;
}

/**
 * Lab mode hands a token to a bare name only if nobody owns that name, or ever did: not an account
 * (nor one since removed: a service behind forward auth may still trust that name), not the admin,
 * and not a user holding tokens of any other kind (environment tokens' labels included, since
 * each has a record).
 */
export async function labNameIsFree(db: Db, name: string): Promise<boolean> {
  if (name === ADMIN_ROLE) return false;
  const { auditEvents, tokens, users } = tablesOf(db);
  const [account] = await db.select({ username: users.username }).from(users).where(eq(users.username, name));
  if (account) return false;
  const [created] = await db.select({ id: auditEvents.id }).from(auditEvents).where(and(eq(auditEvents.user, name), eq(auditEvents.action, "user.created"))).limit(1);
  if (created) return false;
  const [owned] = await db.select({ id: tokens.id }).from(tokens).where(and(eq(tokens.user, name), ne(tokens.source, "lab"))).limit(1);
  return !owned;
}
