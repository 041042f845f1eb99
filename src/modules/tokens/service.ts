import { and, eq, ne, or, sql, type SQL } from "drizzle-orm";
import { tablesOf, type Db, type Store, type Transaction } from "../../db/client";
import { Keyset, type Page, type PageRequest } from "../../db/pagination";
import { storable } from "../../db/storable";
import type { tokens } from "../../db/schema";
import { parseCidr } from "../../lib/cidr";
import { randomBase62 } from "../../lib/crypto";
import { parseScopes } from "../../lib/scopes";
import { DomainError } from "../../lib/errors";
import { normalizeUser, parseRole } from "../../lib/names";
import { generateToken, hashToken, looksLikeToken, tokenHint } from "../../lib/token-format";
import { recordAudit } from "../audit/service";
import { NO_LIMITS, quotaAt, type TokenLimits } from "./limits";
import { isLive, liveAt, notLiveAt, whyNotLive } from "./liveness";

export type TokenRow = typeof tokens.$inferSelect;
export type TokenSource = TokenRow["source"];

/** Who asked for a change, for the audit log. */
export interface Actor {
  name: string;
  tokenId?: string | null;
  ip?: string | null;
}

export interface IssueRequest {
  user: string;
  name?: string | null;
  role?: string;
  /** Milliseconds from now, or null for a token that never expires. */
  lifetimeMs: number | null;
  allowedIps?: string[] | null;
  source: TokenSource;
  scopes?: readonly string[] | null;
  /** Rate limit and quota (see limits.ts); none by default. */
  limits?: TokenLimits;
}

export interface IssuedToken {
  /** The secret: returned once, never stored. */
  token: string;
  row: TokenRow;
}

export const newTokenId = () => `tok_${randomBase62(16)}`;

/** Creates a token; its plaintext exists only in the return value. A bad request is refused before the write begins. */
export async function issueToken(store: Store, request: IssueRequest, actor: Actor, now = new Date()): Promise<IssuedToken> {
  const values = validateIssue(request, now);
  return store.write((tx) => recordIssue(tx, values, actor, now));
}

/** issueToken as part of a write the caller holds (a login's account check, the first admin token). */
export function issueTokenIn(tx: Transaction, request: IssueRequest, actor: Actor, now = new Date()): Promise<IssuedToken> {
  return recordIssue(tx, validateIssue(request, now), actor, now);
}

async function recordIssue(tx: Transaction, values: NewToken, actor: Actor, now: Date): Promise<IssuedToken> {
  const issued = await insertToken(tx, values);
  await recordAudit(
    tx,
    { action: "token.created", actor: actor.name, user: issued.row.user, tokenId: issued.row.id, ip: actor.ip, detail: `role ${issued.row.role}, source ${issued.row.source}` },
    now,
  );
  return issued;
}

type NewToken = Omit<typeof tokens.$inferInsert, "id" | "hash" | "hint">;

function validateIssue(request: IssueRequest, now: Date): NewToken {
  const name = request.name?.trim() || null;
  if (name !== null && (name.length > 100 || /\p{Cc}/u.test(name))) {
    throw new DomainError("invalid", "invalid_name", "A token name is at most 100 printable characters");
  }
  return {
    user: normalizeUser(request.user),
    name,
    role: parseRole(request.role ?? "user"),
    source: request.source,
    createdAt: now,
    expiresAt: request.lifetimeMs === null ? null : new Date(now.getTime() + request.lifetimeMs),
    allowedIps: parseAllowedIps(request.allowedIps),
    scopes: parseScopes(request.scopes),
    ...limitColumns(request.limits ?? NO_LIMITS, now),
  };
}

/** A token's limits as columns; the first refill falls one period after creation. */
function limitColumns({ rateLimit, remainingUses, refill }: TokenLimits, now: Date) {
  return {
    rateLimitRequests: rateLimit?.requests ?? null,
    rateLimitPerMs: rateLimit?.perMs ?? null,
    remainingUses,
    refillUses: refill?.uses ?? null,
    refillEveryMs: refill?.everyMs ?? null,
    refilledAt: refill === null ? null : now,
  };
}

async function insertToken(db: Transaction, values: NewToken): Promise<IssuedToken> {
  if (values.source !== "lab") await retireLabTokens(db, values.user, values.createdAt);
  const { tokens } = tablesOf(db);
  const token = generateToken();
  const [row] = await db
    .insert(tokens)
    .values({ ...values, id: newTokenId(), hash: hashToken(token), hint: tokenHint(token) })
    .returning();
  return { token, row: row! };
}

/**
 * A lab login's name was free when it was handed out; once the name belongs to someone (an
 * account, a token of another kind, an environment label), the lab tokens for it stop, so they
 * never speak for that someone.
 */
export async function retireLabTokens(db: Transaction, user: string, now: Date): Promise<void> {
  const { tokens } = tablesOf(db);
  const retired = await db
    .update(tokens)
    .set({ revokedAt: now, revokeReason: "the name now belongs to someone" })
    // A literal, not a bound parameter: only then can SQLite use the partial index tokens_lab_user_idx.
    .where(and(eq(tokens.user, user), sql`${tokens.source} = 'lab'`, liveAt(now, tokens)))
    .returning({ id: tokens.id });
  if (retired.length > 0) {
    await recordAudit(db, { action: "token.revoked_all", actor: "system", user, detail: `${retired.length} lab tokens, the name now belongs to someone` }, now);
  }
}

export function parseAllowedIps(list: string[] | null | undefined): string[] | null {
  if (!list || list.length === 0) return null;
  if (list.length > 100) throw new DomainError("invalid", "invalid_allowed_ips", "At most 100 allowed IP ranges");
  try {
    return [...new Set(list.map((entry) => parseCidr(entry).text))];
  } catch (error) {
    throw new DomainError("invalid", "invalid_allowed_ips", (error as Error).message);
  }
}

export interface TokenFilter extends PageRequest {
  user?: string;
  /** true: only tokens that authenticate now; false: only those that no longer do. */
  active?: boolean;
}

const keyset = new Keyset<TokenRow>("tokens", (row) => [row.createdAt, row.id]);

/** One page of tokens, newest first. */
export async function listTokens(db: Db, filter: TokenFilter, now = new Date()): Promise<Page<TokenRow>> {
  const { tokens } = tablesOf(db);
  const { after, order, fetch } = keyset.plan(filter, tokens.createdAt, tokens.id);
  const where: (SQL | undefined)[] = [after];
  if (filter.user !== undefined) where.push(eq(tokens.user, normalizeUser(filter.user)));
  if (filter.active !== undefined) where.push(filter.active ? liveAt(now, tokens) : notLiveAt(now, tokens));
  return keyset.page(await db.select().from(tokens).where(and(...where)).orderBy(...order).limit(fetch), filter);
}

/**
 * Finds a token by its id, or by the token itself (as the multi-token manager's CLI revokes:
 * `revoke <token>`), an environment value included: it can look like anything.
 */
export async function getToken(db: Db, idOrToken: string): Promise<TokenRow> {
  const { tokens } = tablesOf(db);
  const byValue = eq(tokens.hash, hashToken(idOrToken));
  const where = looksLikeToken(idOrToken) || !storable(idOrToken) ? byValue : or(eq(tokens.id, idOrToken), byValue);
  const [row] = await db.select().from(tokens).where(where);
  if (!row) throw new DomainError("not_found", "token_not_found", `No token with id ${idOrToken.startsWith("tok_") ? idOrToken : "like that"}`);
  return row;
}

/** An environment token lives as long as its setting: the record only mirrors it. */
export const envTokenRefusal = () =>
  new DomainError(
    "conflict",
    "env_token",
    "This is an environment token, configured by API_TOKENS or KEYWARD_ADMIN_TOKEN: it cannot be revoked or rotated here. Take it out of the server's environment and restart, which retires it",
  );

function refuseEnvToken(row: TokenRow): void {
  if (row.source === "env") throw envTokenRefusal();
}

/** Revokes at once. Revoking a revoked token changes nothing and returns it as it is. */
export async function revokeToken(store: Store, idOrToken: string, actor: Actor, now = new Date()): Promise<TokenRow> {
  return store.write(async (tx) => {
    const { tokens } = tablesOf(tx);
    const row = await getToken(tx, idOrToken);
    refuseEnvToken(row);
    if (whyNotLive(row, now) === "revoked") return row;
    const [updated] = await tx.update(tokens).set({ revokedAt: now, revokeReason: "revoked" }).where(eq(tokens.id, row.id)).returning();
    await recordAudit(tx, { action: "token.revoked", actor: actor.name, user: row.user, tokenId: row.id, ip: actor.ip }, now);
    return updated!;
  });
}

/** Revokes every working token of one user (by any spelling of the name): the name as stored, and how many. */
export async function revokeUserTokens(store: Store, user: string, actor: Actor, reason = "revoked", now = new Date()): Promise<{ user: string; revoked: number }> {
  const name = normalizeUser(user);
  return store.write((tx) => revokeUserTokensIn(tx, name, actor, reason, now));
}

/** revokeUserTokens as part of a write the caller holds (removing the user), for the name as stored. */
export async function revokeUserTokensIn(tx: Transaction, name: string, actor: Actor, reason: string, now: Date): Promise<{ user: string; revoked: number }> {
  const { tokens } = tablesOf(tx);
  const revoked = await tx
    .update(tokens)
    .set({ revokedAt: now, revokeReason: reason })
    .where(and(eq(tokens.user, name), liveAt(now, tokens), ne(tokens.source, "env")))
    .returning({ id: tokens.id });
  await recordAudit(tx, { action: "token.revoked_all", actor: actor.name, user: name, ip: actor.ip, detail: `${revoked.length} tokens, ${reason}` }, now);
  return { user: name, revoked: revoked.length };
}

/** Limits and the quota's state (a refill due now applied) pass to a successor; its rate-limit window starts afresh. */
function carriedLimits(old: TokenRow, now: Date) {
  const quota = quotaAt(old, now.getTime());
  return {
    rateLimitRequests: old.rateLimitRequests,
    rateLimitPerMs: old.rateLimitPerMs,
    remainingUses: quota.remaining,
    refillUses: old.refillUses,
    refillEveryMs: old.refillEveryMs,
    refilledAt: quota.refilledAt === null ? null : new Date(quota.refilledAt),
  };
}

export interface Rotation extends IssuedToken {
  previous: TokenRow;
}

/**
 * Issues a successor with the same user, role, name, allowed IPs, scopes and lifetime, and ends the old
 * token after `graceMs` (0: at once). Both happen in one transaction: there is never a moment
 * with the old token revoked and no successor.
 */
export async function rotateToken(store: Store, id: string, graceMs: number, actor: Actor, now = new Date()): Promise<Rotation> {
  return store.write(async (tx) => {
    const { tokens } = tablesOf(tx);
    const old = await getToken(tx, id);
    refuseEnvToken(old);
    if (!isLive(old, now)) {
      throw new DomainError("conflict", "token_inactive", "Only a token that still works can be rotated");
    }
    if (old.replacedBy !== null) {
      throw new DomainError("conflict", "already_rotated", `This token was already rotated to ${old.replacedBy}`);
    }
    const lifetime = old.expiresAt === null ? null : old.expiresAt.getTime() - old.createdAt.getTime();
    const issued = await insertToken(tx, {
      user: old.user,
      name: old.name,
      role: old.role,
      source: old.source,
      createdAt: now,
      expiresAt: lifetime === null ? null : new Date(now.getTime() + lifetime),
      allowedIps: old.allowedIps,
      scopes: old.scopes,
      ...carriedLimits(old, now),
    });
    const endsAt = new Date(now.getTime() + graceMs);
    const [previous] = await tx
      .update(tokens)
      .set({ revokedAt: endsAt, revokeReason: "rotated", replacedBy: issued.row.id })
      .where(eq(tokens.id, old.id))
      .returning();
    await recordAudit(
      tx,
      { action: "token.rotated", actor: actor.name, user: old.user, tokenId: old.id, ip: actor.ip, detail: `successor ${issued.row.id}, old one ends ${endsAt.toISOString()}` },
      now,
    );
    return { ...issued, previous: previous! };
  });
}
