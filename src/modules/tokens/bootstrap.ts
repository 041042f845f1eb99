import { and, eq } from "drizzle-orm";
import { tablesOf, type Store } from "../../db/client";
import { ADMIN_ROLE } from "../../lib/names";
import { recordAudit } from "../audit/service";
import { liveAt } from "./liveness";
import { issueTokenIn, type IssuedToken } from "./service";

/**
 * On a server nobody can administer yet (no admin token that still works), creates one so the
 * operator can start. Returns it (to be printed once), or null when an admin token exists.
 */
export async function bootstrapAdmin(store: Store, lifetimeMs: number | null, now = new Date()): Promise<IssuedToken | null> {
  return store.write(async (tx) => {
    const { tokens } = tablesOf(tx);
    const [working] = await tx
      .select({ id: tokens.id })
      .from(tokens)
      .where(and(eq(tokens.role, ADMIN_ROLE), liveAt(now, tokens)))
      .limit(1);
    if (working) return null;
    const issued = await issueTokenIn(
      tx,
      { user: "admin", role: ADMIN_ROLE, name: "first admin token", lifetimeMs, source: "bootstrap" },
      { name: "system" },
      now,
    );
    await recordAudit(tx, { action: "admin.bootstrap", actor: "system", user: "admin", tokenId: issued.row.id }, now);
    return issued;
  });
}
