import { and, desc, eq, gt, inArray, isNull, lt, ne, notInArray, or, sql, type SQL } from "drizzle-orm";
import { ChangeBoundCache } from "../../db/change-bound-cache";
import { tablesOf, type Db, type Store, type Transaction } from "../../db/client";
import type { sessions } from "../../db/schema";
import { WriteBehind } from "../../db/write-behind";
import { randomBase62, sha256Hex } from "../../lib/crypto";
import { whenSettled } from "../../lib/settled";
import { accountUnchanged } from "../auth/accounts";
import type { ReasonOf } from "../auth/model";
import type { Principal } from "../tokens/verifier";

/**
 * A session's two cookies (named in service.ts). The domain one goes to every host of the cookie
 * domain, for forward auth; the console one only to Keyward's own host, for its pages and API: a
 * service behind the proxy sees the first, and could replay it, but never the second, which alone
 * can change a password or act as an admin.
 */
export type SessionCookie = "domain" | "console";

const randomValue = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

/** 32 random bytes as base64url: anything else was never a session value, and costs no lookup. */
const sessionValue = /^[A-Za-z0-9_-]{43}$/;
export const looksLikeSessionValue = (value: string) => sessionValue.test(value);

/** last_seen_at and ip are written at most this often per session: a page's every request costs no write. */
export const SEEN_EVERY_MS = 60_000;
const PRUNE_EVERY_MS = 60_000;
/** Sessions one person holds at most, ended ones included: a new sign-in past it removes the oldest. */
export const MAX_SESSIONS_PER_USER = 20;
const UNWRITTEN = "";
/** A browser drops the cookie when its Max-Age (the absolute lifetime) runs out; rows are kept a while past that, so a late request is still known as an ended session rather than counted as a guess. */
const KEEP_PAST_MAX_MS = 3_600_000;

export interface SessionLifetimes {
  /** Unused this long, a session ends (KEYWARD_SESSION_IDLE). */
  idleMs: number;
  /** This long after sign-in, a session ends (KEYWARD_SESSION_MAX). */
  maxMs: number;
}

/** The lifetimes the settings give (KEYWARD_SESSION_IDLE, KEYWARD_SESSION_MAX). */
export const sessionLifetimes = ({ sessionIdle, sessionMax }: { sessionIdle: number; sessionMax: number }): SessionLifetimes => ({ idleMs: sessionIdle, maxMs: sessionMax });

/** What the cache keeps of a session: enough to decide, nothing secret. */
export interface KnownSession {
  id: string;
  createdAt: number;
  /** Moved forward in memory when a use is recorded, so idleness is judged without a read. */
  lastSeenAt: number;
  endedAt: number | null;
  /** The account's state now: a removed account has none. */
  account: { role: string; disabled: boolean } | null;
  /** The answer for a live session, built once per cache entry rather than per request. */
  granted: { ok: true; principal: Principal } | null;
}

export type SessionEnd = ReasonOf<"revoked" | "expired" | "disabled">;

/** A session as its lookup reads it, with its account's role, state and scopes (null: no such account). */
interface SessionRow {
  id: string;
  user: string;
  createdAt: Date;
  lastSeenAt: Date;
  endedAt: Date | null;
  role: string | null;
  disabled: boolean | null;
  scopes: string[] | null;
}

interface Seen {
  lastSeenAt: number;
  ip: string;
}

/**
 * Browser sessions, looked up by the hash of their cookie through a bounded cache emptied whenever
 * the database changes (as TokenVerifier's is): a sign-out, or a password, role or scopes change, is seen
 * at once here and within a second from the CLI. Uses are written behind, at most once a minute each.
 */
export class Sessions {
  private readonly cache;
  private readonly byHash;
  private readonly seenBuffer;
  private prunedAt = -Infinity;

  constructor(
    private readonly store: Pick<Store, "db" | "changes" | "write" | "bookkeeping" | "lookup">,
    readonly lifetimes: SessionLifetimes,
    capacity = 10_000,
  ) {
    this.cache = new ChangeBoundCache<KnownSession | null>(store.changes, capacity);
    // Built once, on the tables of the store's own engine: a lookup costs no per-request setup.
    const { sessions, users } = tablesOf(store.db);
    const by = (column: typeof sessions.hash | typeof sessions.consoleHash) =>
      store.lookup(
        store.db
          .select({
            id: sessions.id,
            user: sessions.user,
            createdAt: sessions.createdAt,
            lastSeenAt: sessions.lastSeenAt,
            endedAt: sessions.endedAt,
            role: users.role,
            disabled: users.disabled,
            scopes: users.scopes,
          })
          .from(sessions)
          .leftJoin(users, eq(users.username, sessions.user))
          .where(eq(column, sql.placeholder("hash"))),
      );
    this.byHash = { domain: by(sessions.hash), console: by(sessions.consoleHash) };
    this.seenBuffer = new WriteBehind<Seen>(store, {
      capacity,
      merge: (_, later) => later,
      // Past capacity a use goes unwritten (its session's idle clock is kept in memory regardless).
      overflow: (_, value) => [UNWRITTEN, value],
      async write(tx, batch) {
        const { sessions } = tablesOf(tx);
        for (const [id, seen] of batch) if (id !== UNWRITTEN) await tx.update(sessions).set({ lastSeenAt: new Date(seen.lastSeenAt), ip: seen.ip }).where(eq(sessions.id, id));
      },
    });
  }

  /**
   * Opens a session for a login that passed, if the account still has the password hash the login
   * was checked against and is not disabled: a password change (which ends the user's sessions)
   * committed during the argon2id check would otherwise be outlived by this one. Null if not.
   */
  async start(user: string, passwordHash: string, ip: string, now: number): Promise<OpenedSession | null> {
    // One write transaction: no password change can commit between the check and the insert.
    return this.store.write((tx) => startIn(tx, user, passwordHash, ip, now));
  }

  /**
   * The session this cookie value opened, live or not; null if none (or it was pruned). One that
   * looks idle is read again first: its uses may have been on another instance sharing the
   * database, whose sightings (bookkeeping) leave this one's cache as it was.
   */
  find(value: string, now: number, cookie: SessionCookie = "domain"): KnownSession | null | Promise<KnownSession | null> {
    // The two kinds share the cache: a console key is marked so that no value stands for the other.
    const key = cookie === "domain" ? sha256Hex(value) : `c${sha256Hex(value)}`;
    const known = this.cache.through(key, now, this.read);
    if (known instanceof Promise || known === null || !this.idle(known, now)) return known;
    return whenSettled(this.read(key), (again) => {
      if (again !== null && again.lastSeenAt > known.lastSeenAt) known.lastSeenAt = again.lastSeenAt;
      return known;
    });
  }

  private readonly read = (key: string): KnownSession | null | Promise<KnownSession | null> => {
    const row = key.length === 64 ? this.byHash.domain({ hash: key }) : this.byHash.console({ hash: key.slice(1) });
    return row instanceof Promise ? row.then(this.knownOrNull) : this.knownOrNull(row);
  };

  private readonly knownOrNull = (row: SessionRow | undefined): KnownSession | null => (row ? this.toKnown(row) : null);

  /** Past its idle limit but not its absolute one. */
  private idle(session: KnownSession, now: number): boolean {
    return now >= session.lastSeenAt + this.lifetimes.idleMs && now < session.createdAt + this.lifetimes.maxMs;
  }

  /** Why this session no longer opens anything, or null while it does. */
  whyEnded(session: KnownSession, now: number): SessionEnd | null {
    if (session.endedAt !== null && session.endedAt <= now) return "revoked";
    if (now >= sessionEndsAt(this.lifetimes, session)) return "expired";
    if (session.account === null || session.account.disabled) return "disabled";
    return null;
  }

  /** A use: recorded (for idleness, and the admin's view) at most once a minute; the address is asked for only then. */
  seen(session: KnownSession, now: number, address: () => string): void {
    if (now - session.lastSeenAt < SEEN_EVERY_MS) return;
    session.lastSeenAt = now;
    this.seenBuffer.add(session.id, { lastSeenAt: now, ip: address() });
  }

  /**
   * Signs a browser out: every open session its cookies name ends now, in one write. Only those are
   * written to: anyone can send made-up cookies, and a write that touched nothing would still
   * empty the caches every write empties.
   */
  async signOut(presented: Record<SessionCookie, readonly string[]>, now: number): Promise<void> {
    const found = await Promise.all(
      (["domain", "console"] as const).flatMap((cookie) => presented[cookie].filter(looksLikeSessionValue).map((value) => this.find(value, now, cookie))),
    );
    const ids = found.flatMap((known) => (known !== null && known.endedAt === null ? [known.id] : []));
    if (ids.length === 0) return;
    await this.store.write(async (tx) => {
      const { sessions } = tablesOf(tx);
      await tx.update(sessions).set({ endedAt: new Date(now) }).where(and(inArray(sessions.id, ids), isNull(sessions.endedAt)));
    });
  }

  /** Writes the uses held (kept on failure, and the error rethrown), and prunes once a minute. */
  async flush(now: number): Promise<void> {
    await this.seenBuffer.flush();
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    await this.store.bookkeeping((tx) => pruneSessions(tx, this.lifetimes, now));
    this.prunedAt = now;
  }

  private toKnown(row: SessionRow): KnownSession {
    const createdAt = row.createdAt.getTime();
    const account = row.role === null ? null : { role: row.role, disabled: row.disabled ?? false };
    const principal: Principal | null = account && {
      user: row.user,
      role: account.role,
      tokenId: row.id,
      source: "session",
      issuedAt: row.createdAt,
      expiresAt: new Date(createdAt + this.lifetimes.maxMs),
      scopes: row.scopes ?? [],
    };
    return {
      id: row.id,
      createdAt,
      // A use not yet written (the next flush writes it) still counts: the cache may have been emptied since.
      lastSeenAt: Math.max(row.lastSeenAt.getTime(), this.seenBuffer.held(row.id)?.lastSeenAt ?? 0),
      endedAt: row.endedAt?.getTime() ?? null,
      account,
      granted: principal && { ok: true, principal },
    };
  }
}

export interface OpenedSession {
  id: string;
  /** The cookies' values, given out once: only their hashes are kept. */
  values: Record<SessionCookie, string>;
}

/** Sessions.start's work inside a write the caller holds (a password change opens one with its new password). */
export async function startIn(tx: Transaction, user: string, passwordHash: string, ip: string, now: number): Promise<OpenedSession | null> {
  if (!(await accountUnchanged(tx, user, passwordHash))) return null;
  const { sessions } = tablesOf(tx);
  const values = { domain: randomValue(), console: randomValue() };
  const id = `ses_${randomBase62(16)}`;
  const at = new Date(now);
  await tx.insert(sessions).values({ id, hash: sha256Hex(values.domain), consoleHash: sha256Hex(values.console), user, createdAt: at, lastSeenAt: at, ip });
  // A person's rows stay few however often they sign in: past the cap, the oldest go.
  const others = await tx
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.user, user), ne(sessions.id, id)))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(MAX_SESSIONS_PER_USER - 1);
  await tx.delete(sessions).where(and(eq(sessions.user, user), notInArray(sessions.id, [id, ...others.map((row) => row.id)])));
  return { id, values };
}

/** Ends every live session of a user: a new password or role, or a removed account. */
export async function endUserSessions(db: Transaction, user: string, now: Date): Promise<void> {
  const { sessions } = tablesOf(db);
  await db.update(sessions).set({ endedAt: now }).where(and(eq(sessions.user, user), isNull(sessions.endedAt)));
}

/** Whether a session has not been ended (by a sign-out, an admin, or a change to its account). */
export async function sessionOpen(db: Db | Transaction, id: string): Promise<boolean> {
  const { sessions } = tablesOf(db);
  const [row] = await db.select({ id: sessions.id }).from(sessions).where(and(eq(sessions.id, id), isNull(sessions.endedAt)));
  return row !== undefined;
}

/** Deletes sessions whose cookie every browser has dropped: those past their absolute lifetime, ended or not. */
export async function pruneSessions(db: Transaction, { maxMs }: SessionLifetimes, now: number): Promise<void> {
  const { sessions } = tablesOf(db);
  await db.delete(sessions).where(lt(sessions.createdAt, new Date(now - maxMs - KEEP_PAST_MAX_MS)));
}

/** When a session ends if it goes unused from now on: its idle end or its absolute end, whichever comes first. */
export const sessionEndsAt = ({ idleMs, maxMs }: SessionLifetimes, session: { createdAt: number; lastSeenAt: number }) =>
  Math.min(session.createdAt + maxMs, session.lastSeenAt + idleMs);

/**
 * `whyEnded` short of the account's state, as a query condition: the rows neither ended nor expired
 * at `now` (tested side by side). `table` is the caller's, from the tables of the engine it queries.
 */
export const openAt = (table: typeof sessions, lifetimes: SessionLifetimes, now: number): SQL =>
  and(
    or(isNull(table.endedAt), gt(table.endedAt, new Date(now))),
    gt(table.createdAt, new Date(now - lifetimes.maxMs)),
    gt(table.lastSeenAt, new Date(now - lifetimes.idleMs)),
  )!;
