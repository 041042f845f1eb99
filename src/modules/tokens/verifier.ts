import { eq, sql } from "drizzle-orm";
import { ChangeBoundCache } from "../../db/change-bound-cache";
import { tablesOf, type Store } from "../../db/client";
import { ipInRanges, parseCidr, type Cidr } from "../../lib/cidr";
import { checksumMatches, hashToken, looksLikeToken } from "../../lib/token-format";
import type { LimitedToken } from "../auth/limits";
import type { ReasonOf } from "../auth/model";
import { whyNotLive } from "./liveness";
import type { PrincipalSource } from "./model";
import type { TokenSource } from "./service";

/** Who a request is, once its token checks out. */
export interface Principal {
  /** The user; for a device, its id. */
  user: string;
  role: string;
  tokenId: string;
  source: typeof PrincipalSource.static;
  issuedAt: Date;
  expiresAt: Date | null;
  /** What it may open beyond its role (forward auth's `?scope=`): a token's own, a session's account's; none for a device. */
  scopes: readonly string[];
}

export type VerifyFailure = ReasonOf<"malformed" | "unknown" | "expired" | "revoked" | "disabled" | "ip_not_allowed">;

/** A good token: who it is, and its limits when it has any (undefined: none, the hot path's one check). */
export type Granted = { ok: true; principal: Principal; limits?: LimitedToken };

export type Verification =
  | Granted
  | { ok: false; reason: VerifyFailure; tokenId?: string; user?: string };

/** What the verifier keeps of a token: enough to decide, nothing secret. */
export interface KnownToken {
  id: string;
  user: string;
  role: string;
  source: TokenSource;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  allowedIps: Cidr[] | null;
  /** The user's account is disabled: all their tokens are refused until it is enabled. */
  disabled: boolean;
  /** The answer for a live token, built once per cache entry rather than per request. */
  verified: Granted;
}

/** Longer than any token Keyward issues or accepts from the environment: not worth hashing. */
const MAX_TOKEN_LENGTH = 512;

/**
 * The hot path. A token of Keyward's shape with a bad checksum is refused without a lookup;
 * good ones are looked up by hash through a bounded cache that is emptied whenever the database
 * changes (at once for this process's writes, within a second for another's: see ChangeMonitor).
 * Expiry is checked against the clock on every call, so a cached entry never outlives it.
 */
export class TokenVerifier {
  private readonly cache;
  private readonly byHash;

  constructor(
    { db, changes, lookup }: Pick<Store, "db" | "changes" | "lookup">,
    /** Hashes of the API_TOKENS and KEYWARD_ADMIN_TOKEN values: looked up like Keyward-shaped tokens. */
    private readonly envTokens: ReadonlySet<string> = new Set(),
    capacity = 10_000,
  ) {
    this.cache = new ChangeBoundCache<KnownToken | null>(changes, capacity);
    // Built once, on the tables of the store's own engine: a lookup costs no per-request setup.
    const { tokens, users } = tablesOf(db);
    this.byHash = lookup(
      db
        .select({
        id: tokens.id,
        user: tokens.user,
        role: tokens.role,
        source: tokens.source,
        createdAt: tokens.createdAt,
        expiresAt: tokens.expiresAt,
        revokedAt: tokens.revokedAt,
        allowedIps: tokens.allowedIps,
        scopes: tokens.scopes,
        rateLimitRequests: tokens.rateLimitRequests,
        rateLimitPerMs: tokens.rateLimitPerMs,
        remainingUses: tokens.remainingUses,
        disabled: users.disabled,
      })
        .from(tokens)
        .leftJoin(users, eq(users.username, tokens.user))
        .where(eq(tokens.hash, sql.placeholder("hash"))),
    );
  }

  /**
   * Checks a token presented from `address`, asked for only when the token has an address
   * allowlist; null (introspection on a client's behalf) skips the address check. Decided at once
   * but for a cache miss on PostgreSQL, which reads the database.
   */
  verify(token: string, address: (() => string) | null, now = Date.now()): Verification | Promise<Verification> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
    const shaped = looksLikeToken(token);
    if (shaped && !checksumMatches(token)) return { ok: false, reason: "malformed" };
    const hash = hashToken(token);
    // Environment tokens go through the same lookup, so their account's state and their record's
    // revocation apply to them too; other unshaped text costs no query.
    if (!shaped && !this.envTokens.has(hash)) return UNKNOWN;
    // No closure on the hot path: a promise (a miss on PostgreSQL) is the only case that needs one.
    const known = this.cache.through(hash, now, this.read);
    if (known instanceof Promise) return known.then((settled) => judge(settled, address, now));
    return judge(known, address, now);
  }

  private readonly read = (hash: string): KnownToken | null | Promise<KnownToken | null> => {
    const row = this.byHash({ hash });
    return row instanceof Promise ? row.then(knownOrNull) : knownOrNull(row);
  };
}

const UNKNOWN: Verification = { ok: false, reason: "unknown" };

function judge(token: KnownToken | null, address: (() => string) | null, now: number): Verification {
  if (token === null) return UNKNOWN;
  const ended = whyNotLive(token, now);
  if (ended) return { ok: false, reason: ended, tokenId: token.id, user: token.user };
  if (token.disabled) return { ok: false, reason: "disabled", tokenId: token.id, user: token.user };
  if (token.allowedIps && address !== null && !ipInRanges(address(), token.allowedIps)) return { ok: false, reason: "ip_not_allowed", tokenId: token.id, user: token.user };
  return token.verified;
}

const knownOrNull = (row: Parameters<typeof toKnown>[0] | undefined): KnownToken | null => (row ? toKnown(row) : null);

export function toKnown(row: {
  id: string;
  user: string;
  role: string;
  source: TokenSource;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  allowedIps: string[] | null;
  scopes?: string[] | null;
  rateLimitRequests: number | null;
  rateLimitPerMs: number | null;
  remainingUses: number | null;
  disabled?: boolean | null;
}): KnownToken {
  const principal: Principal = { user: row.user, role: row.role, tokenId: row.id, source: row.source, issuedAt: row.createdAt, expiresAt: row.expiresAt, scopes: row.scopes ?? [] };
  // Whether it has a quota, never how many uses are left: the database decides that on each use.
  const rate = row.rateLimitRequests === null || row.rateLimitPerMs === null ? null : { requests: row.rateLimitRequests, perMs: row.rateLimitPerMs };
  const quota = row.remainingUses !== null;
  const limits = rate === null && !quota ? undefined : { tokenId: row.id, user: row.user, rate, quota };
  return {
    id: row.id,
    user: row.user,
    role: row.role,
    source: row.source,
    createdAt: row.createdAt.getTime(),
    expiresAt: row.expiresAt?.getTime() ?? null,
    revokedAt: row.revokedAt?.getTime() ?? null,
    allowedIps: row.allowedIps ? row.allowedIps.map(parseCidr) : null,
    disabled: row.disabled === true,
    verified: { ok: true, principal, limits },
  };
}
