import { and, eq } from "drizzle-orm";
import { tablesOf, type Db, type Store, type Transaction } from "../../db/client";
import { Keyset, type Page, type PageRequest } from "../../db/pagination";
import type { users } from "../../db/schema";
import { DomainError } from "../../lib/errors";
import { parseScopes } from "../../lib/scopes";
import { normalizeUser, parseRole } from "../../lib/names";
import { recordAudit } from "../audit/service";
import { accountUnchanged } from "../auth/accounts";
import { endUserSessions, sessionOpen } from "../portal/sessions";
import { liveAt } from "../tokens/liveness";
import { retireLabTokens, revokeUserTokensIn, type Actor } from "../tokens/service";

export type UserRow = typeof users.$inferSelect;

/** Long enough to resist guessing; short enough that hashing it cannot be used to tie up the CPU. */
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;

export function checkPassword(password: string): string {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD || password.includes("\0")) {
    throw new DomainError("invalid", "weak_password", `A password is ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
  }
  return password;
}

export const hashPassword = (password: string) => Bun.password.hash(checkPassword(password), { algorithm: "argon2id" });

export async function addUser(store: Store, input: { username: string; password: string; role?: string; scopes?: readonly string[] }, actor: Actor, now = new Date()): Promise<UserRow> {
  const username = normalizeUser(input.username);
  const role = parseRole(input.role ?? "user");
  const scopes = parseScopes(input.scopes);
  const passwordHash = await hashPassword(input.password);
  return store.write(async (tx) => {
    const { users } = tablesOf(tx);
    const [taken] = await tx.select({ username: users.username }).from(users).where(eq(users.username, username));
    if (taken) throw new DomainError("conflict", "user_exists", `There is already a user ${username}`);
    const [row] = await tx.insert(users).values({ username, passwordHash, role, scopes, createdAt: now, updatedAt: now }).returning();
    await retireLabTokens(tx, username, now);
    await recordAudit(tx, { action: "user.created", actor: actor.name, user: username, ip: actor.ip, detail: `role ${role}` }, now);
    return row!;
  });
}

const keyset = new Keyset<UserRow>("users", (row) => [row.createdAt, row.username]);

/** One page of users, newest first. */
export async function listUsers(db: Db, request: PageRequest = {}): Promise<Page<UserRow>> {
  const { users } = tablesOf(db);
  const { after, order, fetch } = keyset.plan(request, users.createdAt, users.username);
  return keyset.page(await db.select().from(users).where(after).orderBy(...order).limit(fetch), request);
}

export async function getUser(db: Db, username: string): Promise<UserRow> {
  const name = normalizeUser(username);
  const { users } = tablesOf(db);
  const [row] = await db.select().from(users).where(eq(users.username, name));
  if (!row) throw new DomainError("not_found", "user_not_found", `No user ${name}`);
  return row;
}

export interface UserChange {
  password?: string;
  role?: string;
  disabled?: boolean;
  /** What the account's sessions carry from now on; [] removes them all. Ends nothing. */
  scopes?: readonly string[];
  /**
   * Only if the account is still enabled with this password hash: a change checked against the
   * current password (a person changing their own) must not undo what an admin did during that check.
   */
  passwordWas?: string;
  /**
   * Only while this browser session is still open: a change made through one that ended during the
   * check (signed out, ended by an admin, a new role) would otherwise sign that browser in again.
   */
  session?: string;
}

/**
 * Changes a password, role, disabled flag or scopes. A new password or role ends the user's login
 * sessions (their `login` tokens and browser sessions), so nobody keeps a session opened with the
 * old one. A disabled account's tokens and sessions are refused while it stays disabled. New scopes
 * end nothing: the write empties the session cache, so every open session carries them at once.
 */
export async function updateUser(store: Store, username: string, change: UserChange, actor: Actor, now = new Date()): Promise<UserRow> {
  const { password, ...rest } = change;
  const passwordHash = password === undefined ? undefined : await hashPassword(password);
  return store.write((tx) => updateUserIn(tx, username, { ...rest, passwordHash }, actor, now));
}

/** updateUser's work inside a write the caller holds, the new password already hashed. */
export async function updateUserIn(tx: Transaction, username: string, change: Omit<UserChange, "password"> & { passwordHash?: string }, actor: Actor, now: Date): Promise<UserRow> {
  const { passwordHash } = change;
  const { tokens, users } = tablesOf(tx);
  const role = change.role === undefined ? undefined : parseRole(change.role);
  const scopes = change.scopes === undefined ? undefined : parseScopes(change.scopes);
  const user = await getUser(tx, username);
  if (change.passwordWas !== undefined && !(await accountUnchanged(tx, user.username, change.passwordWas))) {
    throw new DomainError("conflict", "password_changed", "The account was changed meanwhile");
  }
  if (change.session !== undefined && !(await sessionOpen(tx, change.session))) {
    throw new DomainError("conflict", "session_ended", "The session this change was made through has ended");
  }
  const [updated] = await tx
    .update(users)
    .set({ passwordHash, role, disabled: change.disabled, scopes, updatedAt: now })
    .where(eq(users.username, user.username))
    .returning();
  const what = [passwordHash && "password", role && `role ${role}`, change.disabled !== undefined && (change.disabled ? "disabled" : "enabled"), scopes !== undefined && `scopes ${scopes?.join(" ") || "none"}`].filter(Boolean);
  // Nobody keeps a login opened with the old password or role.
  if (passwordHash !== undefined || (role !== undefined && role !== user.role)) {
    await tx
      .update(tokens)
      .set({ revokedAt: now, revokeReason: "password or role changed" })
      .where(and(eq(tokens.user, user.username), eq(tokens.source, "login"), liveAt(now, tokens)));
    await endUserSessions(tx, user.username, now);
  }
  await recordAudit(tx, { action: "user.updated", actor: actor.name, user: user.username, ip: actor.ip, detail: what.join(", ") || "nothing" }, now);
  return updated!;
}

/**
 * Removes the account, ends its browser sessions (a new account of that name must not inherit them)
 * and revokes every token of that user, an API_TOKENS entry named for them included: that
 * revocation outlives restarts until the entry gets a new value (env-tokens.ts).
 */
export async function removeUser(store: Store, username: string, actor: Actor, now = new Date()): Promise<UserRow> {
  return store.write(async (tx) => {
    const { tokens, users } = tablesOf(tx);
    const user = await getUser(tx, username);
    await tx.delete(users).where(eq(users.username, user.username));
    await revokeUserTokensIn(tx, user.username, actor, "user removed", now);
    await endUserSessions(tx, user.username, now);
    await tx
      .update(tokens)
      .set({ revokedAt: now, revokeReason: "user removed" })
      .where(and(eq(tokens.user, user.username), eq(tokens.source, "env"), liveAt(now, tokens)));
    await recordAudit(tx, { action: "user.removed", actor: actor.name, user: user.username, ip: actor.ip }, now);
    return user;
  });
}
