import type { Store } from "../../db/client";
import { DomainError } from "../../lib/errors";
import type { Refusal } from "../auth/model";
import type { AuthCore } from "../auth/service";
import { checkPassword, hashPassword, updateUserIn } from "../users/service";
import { LOCKED_MESSAGE } from "./page";
import { startIn, type SessionCookie } from "./sessions";

export interface PasswordDeps {
  store: Store;
  core: AuthCore;
  now: () => number;
}

/** Who is changing their password: the signed-in account, through which session, from where. */
export interface Changer {
  user: string;
  sessionId: string;
  ip: string;
}

export type PasswordChange =
  | { ok: true; values: Record<SessionCookie, string> }
  | { ok: false; status: 400 | 401 | 409 | 429; message: string; retryAfter?: Refusal };

const refused = (status: 400 | 401 | 409, message: string): PasswordChange => ({ ok: false, status, message });

/**
 * A person's change of their own password, from a signed-in browser. A session alone is not
 * enough (a browser left open, a cookie copied): the current password is checked as a sign-in is,
 * lockout included. The change ends every session and login token of the account, as an admin's
 * does, and opens a new session for this browser, so only it stays signed in.
 */
export async function changeOwnPassword(
  { store, core, now }: PasswordDeps,
  { user, sessionId, ip }: Changer,
  form: { current_password?: string; new_password?: string; confirm_password?: string },
): Promise<PasswordChange> {
  const { current_password: current = "", new_password: next = "", confirm_password: confirm = "" } = form;
  // Checked before the current password, so a typo costs neither an argon2id run nor a failure.
  if (next !== confirm) return refused(400, "The two new passwords are not the same.");
  try {
    checkPassword(next);
  } catch (error) {
    if (error instanceof DomainError) return refused(400, `${error.message}.`);
    throw error;
  }
  const checked = await core.login({ name: user, password: current, ip });
  if (!checked.ok) {
    if (checked.reason === "locked_out") return { ok: false, status: 429, message: LOCKED_MESSAGE, retryAfter: checked };
    return refused(401, "The current password is not right.");
  }
  const passwordWas = checked.passwordHash;
  if (passwordWas === null) throw new Error("a password check passed without a password hash");
  const hash = await hashPassword(next);
  const at = now();
  try {
    // One write: the new password, every session and login token ended, and this browser's new
    // session, or none of it.
    const session = await store.write(async (tx) => {
      await updateUserIn(tx, user, { passwordHash: hash, passwordWas, session: sessionId }, { name: user, tokenId: sessionId, ip }, new Date(at));
      const opened = await startIn(tx, user, hash, ip, at);
      if (opened === null) throw new DomainError("conflict", "account_changed", "The account was changed meanwhile");
      return opened;
    });
    return { ok: true, values: session.values };
  } catch (error) {
    // Changed, disabled or removed by someone else, or the session ended, while the current password was being checked.
    if (!(error instanceof DomainError && error.kind !== "invalid")) throw error;
  }
  return refused(409, "Your account was changed meanwhile. Sign in again.");
}
