import type { Db } from "../../db/client";
import type { LoggedIn } from "../auth/model";
import { issueToken, type Actor, type IssuedToken } from "../tokens/service";

/**
 * The token a successful login hands out: an ordinary token with the account's role (source
 * `login`), or in lab mode a `user` token marked `lab`, so it can be told apart and never
 * mistaken for an account's.
 */
export function issueLoginToken(db: Db, who: LoggedIn, lifetimeMs: number | null, actor: Actor): IssuedToken {
  return who.lab
    ? issueToken(db, { user: who.user, name: "open login", lifetimeMs, source: "lab" }, actor)
    : issueToken(db, { user: who.user, role: who.role, name: "login", lifetimeMs, source: "login" }, actor);
}
