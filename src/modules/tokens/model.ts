import { t } from "elysia";
import { Nullable, WholeNumber } from "../../http/schema";
import { pageQuery } from "../../http/pagination";
import { ROLE_MAX_LENGTH } from "../../lib/names";
import type { TokenRow } from "./service";
import { tokenSources } from "../../db/schema";
import { presentLimits } from "./limits";
import { whyNotLive } from "./liveness";
import { MAX_SCOPE_LENGTH, MAX_SCOPES, SCOPE_RULES } from "../../lib/scopes";

/** A credential's scopes on the wire (a token's, an account's); the rules are checked by parseScopes. */
export const ScopeList = (description: string) =>
  t.Array(t.String({ minLength: 1, maxLength: MAX_SCOPE_LENGTH }), { maxItems: MAX_SCOPES, description: `${description}. ${SCOPE_RULES}`, examples: [["nas", "backup:read"]] });

const Timestamp = t.String({ format: "date-time", examples: ["2026-11-23T10:00:00.000Z"] });
const NullableTimestamp = Nullable(Timestamp);

/**
 * What a request's credential was: a token, by where it came from, a device's token, or a
 * browser's sign-in session. No
 * default (t.UnionEnum's is its first value): an answer that leaves it out has none.
 */
export const PrincipalSource = t.UnionEnum([...tokenSources, "device", "session"], { examples: ["api"], default: undefined });

export const TokenStatus = t.UnionEnum(["active", "rotating", "expired", "revoked"], {
  description: "active; rotating (rotated, working until its grace period ends); expired; revoked",
});

const RatePeriod = t.String({ maxLength: 16, description: "The window: 1s to 1d (30s, 1m, 1h, 1d)", examples: ["1m"] });
const RefillPeriod = t.String({ maxLength: 16, description: "The period: 1m to 366d (1h, 1d, 30d)", examples: ["1d"] });
const RateLimitShape = {
  requests: WholeNumber({ minimum: 1, maximum: 1_000_000, description: "Authenticated requests allowed per window", examples: [100] }),
  per: RatePeriod,
};
const RemainingUses = WholeNumber({ minimum: 0, maximum: 1_000_000_000, description: "Uses left: each request the token passes spends one", examples: [1000] });
const RefillShape = {
  uses: WholeNumber({ minimum: 1, maximum: 1_000_000_000, description: "What remaining_uses is set back to, every period", examples: [1000] }),
  every: RefillPeriod,
};

/** Rate limit and quota, on the record (null: none). */
const limitFields = {
  rate_limit: Nullable(
    t.Object(RateLimitShape, {
      description: "Beyond `requests` per window (a fixed window from the first request, per instance, in memory), 429 rate_limited with Retry-After and RateLimit headers",
    }),
  ),
  rate_limit_window: t.Optional(
    Nullable(
      t.Object(
        { used: WholeNumber({ minimum: 0 }), refused: WholeNumber({ minimum: 0 }), ends_at: Timestamp },
        { description: "GET /api/v1/tokens/{id} only, for a token with a rate limit: its current window on the instance that answers (each counts its own); null when none is open" },
      ),
    ),
  ),
  remaining_uses: Nullable(WholeNumber({ minimum: 0, description: "Uses left now (a refill due is counted); null: unlimited. At 0, 429 quota_exhausted" })),
  refill: Nullable(
    t.Object({ ...RefillShape, next_at: Timestamp }, { description: "Every period remaining_uses is set back to `uses`; next_at is the next time" }),
  ),
};

const tokenFields = {
  id: t.String({ description: "Public id, safe to show and log", examples: ["tok_3kTMd9QzLx0bWv7R"] }),
  user: t.String({ examples: ["alice"] }),
  name: Nullable(t.String({ examples: ["alice's laptop"] })),
  role: t.String({ description: "admin, or any label (user, analyst, viewer…) passed on to services", examples: ["user"] }),
  source: t.UnionEnum(tokenSources),
  hint: t.String({ description: "The prefix and last 4 characters, to tell tokens apart", examples: ["kw_…X9aQ"] }),
  status: TokenStatus,
  created_at: Timestamp,
  expires_at: NullableTimestamp,
  revoked_at: Nullable(t.String({ format: "date-time", description: "In the future while a rotated token's grace period runs" })),
  revoke_reason: Nullable(t.String({ examples: ["rotated"] })),
  replaced_by: Nullable(t.String({ description: "The successor's id, once rotated" })),
  allowed_ips: Nullable(t.Array(t.String(), { examples: [["192.168.1.0/24"]] })),
  last_used_at: NullableTimestamp,
  last_ip: Nullable(t.String({ description: "The address of its first use in its latest one-second usage window", examples: ["192.168.1.23"] })),
  request_count: WholeNumber({ minimum: 0 }),
  scopes: ScopeList("What it may open beyond its role (forward auth's ?scope=); empty: it passes no scope check"),
  ...limitFields,
};

export const TokenRecord = t.Object(tokenFields, { title: "Token" });
export type TokenRecord = typeof TokenRecord.static;

export const IssuedTokenRecord = t.Object(
  {
    token: t.String({
      description: "The secret. Shown this once: Keyward keeps only its hash.",
      examples: ["kw_8VLA8vvTyR47mAOFUlmZsqmUqVw0rxZslLysylzl2MR4cFIEc"],
    }),
    ...tokenFields,
  },
  { title: "IssuedToken" },
);

export const CreateToken = t.Object(
  {
    user: t.String({ minLength: 1, maxLength: 64, description: "Whose token; case-insensitive", examples: ["alice"] }),
    name: t.Optional(t.String({ maxLength: 100, examples: ["alice's laptop"] })),
    role: t.Optional(t.String({ maxLength: ROLE_MAX_LENGTH, default: "user", examples: ["analyst"] })),
    expires_in: t.Optional(
      t.String({ maxLength: 16, description: "45s, 30m, 12h, 90d, 2w or never (default: KEYWARD_TOKEN_TTL)", examples: ["90d"] }),
    ),
    allowed_ips: t.Optional(
      t.Array(t.String({ maxLength: 64 }), { maxItems: 100, description: "Addresses or CIDR ranges it may be used from", examples: [["192.168.1.0/24"]] }),
    ),
    scopes: t.Optional(ScopeList("What it may open beyond its role: forward auth's ?scope= passes only a token carrying every scope asked for")),
    // null as a record shows "none", so a client may send a record's own values back.
    rate_limit: t.Optional(Nullable(t.Object(RateLimitShape, { description: "At most `requests` authenticated requests per window, per instance; null: none" }))),
    remaining_uses: t.Optional(Nullable(RemainingUses)),
    refill: t.Optional(Nullable(t.Object(RefillShape, { description: "Needs remaining_uses. The first refill falls one period after creation; null: none" }))),
  },
  { title: "CreateToken" },
);

export const RotateToken = t.Object(
  {
    grace: t.Optional(
      t.String({ maxLength: 16, description: "How long the old token keeps working (default 0s: revoked at once)", examples: ["24h"] }),
    ),
  },
  { title: "RotateToken" },
);

export const TokenQuery = t.Object({
  ...pageQuery,
  user: t.Optional(t.String({ maxLength: 64, description: "Only this user's tokens" })),
  active: t.Optional(t.Boolean({ description: "true: only tokens that work now; false: only those that do not" })),
});

export const RevokeUserTokens = t.Object({ user: t.String({ minLength: 1, maxLength: 64, examples: ["alice"] }) }, { title: "RevokeUserTokens" });
export const RevokedCount = t.Object({ user: t.String(), revoked: WholeNumber({ minimum: 0 }) }, { title: "RevokedCount" });

const iso = (date: Date | null) => date?.toISOString() ?? null;

export function tokenStatus(row: TokenRow, now = new Date()): TokenRecord["status"] {
  return whyNotLive(row, now) ?? (row.revokedAt !== null ? "rotating" : "active");
}

/** A token row as the API shows it: snake_case, ISO timestamps, a status, and never the hash. */
export function presentToken(row: TokenRow, now = new Date()): TokenRecord {
  return {
    id: row.id,
    user: row.user,
    name: row.name,
    role: row.role,
    source: row.source,
    hint: row.hint,
    status: tokenStatus(row, now),
    created_at: row.createdAt.toISOString(),
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
    revoke_reason: row.revokeReason,
    replaced_by: row.replacedBy,
    allowed_ips: row.allowedIps,
    last_used_at: iso(row.lastUsedAt),
    last_ip: row.lastIp,
    request_count: row.requestCount,
    scopes: row.scopes ?? [],
    ...presentLimits(row, now.getTime()),
  };
}
