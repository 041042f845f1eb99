import type { Store } from "../../db/client";
import { accountUnchanged } from "../auth/accounts";
import type { LoggedIn } from "../auth/model";
import { issueToken, issueTokenIn, type Actor, type IssuedToken } from "../tokens/service";

/**
 * The token a successful login hands out: an ordinary token with the account's role (source
 * `login`), or in lab mode a `user` token marked `lab`, so it can be told apart and never
 * mistaken for an account's. Null if the account changed (a new password, disabled, removed)
 * while its password was being checked: that change ends login tokens, and this one must not
 * outlive it.
 */
export async function issueLoginToken(store: Store, who: LoggedIn, lifetimeMs: number | null, actor: Actor): Promise<IssuedToken | null> {
  if (who.lab) return issueToken(store, { user: who.user, name: "open login", lifetimeMs, source: "lab" }, actor);
  const { passwordHash } = who;
  if (passwordHash === null) return null;
  return store.write(async (tx) =>
    (await accountUnchanged(tx, who.user, passwordHash)) ? await issueTokenIn(tx, { user: who.user, role: who.role, name: "login", lifetimeMs, source: "login" }, actor) : null,
  );
}
