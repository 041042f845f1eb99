import { and, eq, isNull, type SQL } from "drizzle-orm";
import { tablesOf, type Db, type Store } from "../../db/client";
import { Keyset, type Page, type PageRequest } from "../../db/pagination";
import { storable } from "../../db/storable";
import type { sessions } from "../../db/schema";
import { DomainError } from "../../lib/errors";
import { normalizeUser } from "../../lib/names";
import { recordAudit } from "../audit/service";
import { openAt, type SessionLifetimes } from "../portal/sessions";
import type { Actor } from "../tokens/service";

/** The columns an admin may see: the cookie's hash is never read here, so it cannot leak. */
const shown = (table: typeof sessions) => ({
  id: table.id,
  user: table.user,
  createdAt: table.createdAt,
  lastSeenAt: table.lastSeenAt,
  ip: table.ip,
});

export type SessionRow = { [K in keyof ReturnType<typeof shown>]: (typeof sessions.$inferSelect)[K] };

export interface SessionFilter extends PageRequest {
  user?: string;
}

const keyset = new Keyset<SessionRow>("sessions", (row) => [row.createdAt, row.id]);

/**
 * One page of the sessions still open, newest first. A disabled account's sessions are among them:
 * refused while it stays disabled, they work again if it is enabled, so an admin may end them first.
 */
export async function listSessions(db: Db, lifetimes: SessionLifetimes, filter: SessionFilter, now: number): Promise<Page<SessionRow>> {
  const { sessions } = tablesOf(db);
  const { after, order, fetch } = keyset.plan(filter, sessions.createdAt, sessions.id);
  const where: (SQL | undefined)[] = [after, openAt(sessions, lifetimes, now)];
  if (filter.user !== undefined) where.push(eq(sessions.user, normalizeUser(filter.user)));
  return keyset.page(await db.select(shown(sessions)).from(sessions).where(and(...where)).orderBy(...order).limit(fetch), filter);
}

/**
 * Ends a session now, and audits it. Not one already ended: ending twice (two admins at once) is
 * audited once. One past its lifetimes is ended all the same rather than judged expired here: the
 * CLI may be run with other KEYWARD_SESSION_* settings than the server, and a session the server
 * still honours must never be "not found".
 */
export async function endSession(store: Store, id: string, actor: Actor, now: number): Promise<SessionRow> {
  const at = new Date(now);
  return store.write(async (tx) => {
    const { sessions } = tablesOf(tx);
    const [row] = storable(id) ? await tx.select(shown(sessions)).from(sessions).where(and(eq(sessions.id, id), isNull(sessions.endedAt))) : [];
    if (!row) throw new DomainError("not_found", "session_not_found", "No session with that id, or it has already ended");
    await tx.update(sessions).set({ endedAt: at }).where(eq(sessions.id, row.id));
    await recordAudit(tx, { action: "session.ended", actor: actor.name, user: row.user, tokenId: row.id, ip: actor.ip, detail: `signed in ${row.createdAt.toISOString()} from ${row.ip}` }, at);
    return row;
  });
}
