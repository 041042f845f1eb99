import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { users } from "../../db/schema";
import { normalizeUser } from "../../lib/names";
import { issueToken, type Actor, type IssuedToken } from "../tokens/service";

export interface LoginOptions {
  /** Lifetime of the token a login hands out (KEYWARD_LOGIN_TTL). */
  lifetimeMs: number | null;
  /** Lab mode (seed 002): a name that is not an account gets a token without a password. */
  openLogin: boolean;
}

let equalizer: Promise<string> | undefined;
/**
 * A real argon2id hash to verify against when there is no user (or no password), so every
 * refusal takes as long as a wrong password. Call it once at start so the first refusal is not slower.
 */
export const timingEqualizer = () => (equalizer ??= Bun.password.hash("keyward timing equalizer", { algorithm: "argon2id" }));

/**
 * Checks a name and password and, if they are right and the account is enabled, issues an
 * ordinary token (source `login`) with the account's role. Every wrong answer is null, after the
 * same argon2id work, so a caller cannot tell a missing user from a wrong password.
 */
export async function login(
  db: Db,
  credentials: { name?: string; password?: string },
  options: LoginOptions,
  actor: Actor,
): Promise<IssuedToken | null> {
  const username = safeName(credentials.name);
  const account = username === null ? undefined : db.select().from(users).where(eq(users.username, username)).get();
  const password = credentials.password ?? "";
  if (!account && username !== null && options.openLogin && credentials.password === undefined) {
    // Open login never applies to a real account, and never hands out more than the user role.
    return issueToken(db, { user: username, name: "open login", lifetimeMs: options.lifetimeMs, source: "login" }, actor);
  }
  // Bun answers an empty password at once; verifying a stand-in keeps the timing the same.
  const hash = account && password !== "" ? account.passwordHash : await timingEqualizer();
  const matches = await Bun.password.verify(password.slice(0, 1024) || "-", hash);
  if (!account || !matches || password === "" || account.disabled || password.length > 1024) return null;
  return issueToken(db, { user: account.username, role: account.role, name: "login", lifetimeMs: options.lifetimeMs, source: "login" }, actor);
}

function safeName(name: string | undefined): string | null {
  try {
    return name === undefined ? null : normalizeUser(name);
  } catch {
    return null;
  }
}
