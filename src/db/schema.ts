import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Server-wide values that must survive restarts and travel with the database
 * (signing keys generated at first start, for example), so a backup restores them too.
 */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/** Where a token came from; `lab` marks tokens handed out by lab-mode logins without a password. */
export const tokenSources = ["api", "cli", "env", "login", "lab", "bootstrap"] as const;

/**
 * API, login and environment tokens. Only the SHA-256 of a token is kept: the plaintext is shown
 * once, at creation. `revoked_at` may lie in the future: a rotated token's grace period.
 */
export const tokens = sqliteTable(
  "tokens",
  {
    id: text("id").primaryKey(),
    user: text("user").notNull(),
    name: text("name"),
    role: text("role").notNull().default("user"),
    hash: text("hash").notNull(),
    hint: text("hint").notNull(),
    source: text("source", { enum: tokenSources }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    revokeReason: text("revoke_reason"),
    replacedBy: text("replaced_by"),
    allowedIps: text("allowed_ips", { mode: "json" }).$type<string[]>(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    lastIp: text("last_ip"),
    requestCount: integer("request_count").notNull().default(0),
    // Issue 17. A rate limit: at most `requests` per fixed window of `per` ms, kept in memory.
    rateLimitRequests: integer("rate_limit_requests"),
    rateLimitPerMs: integer("rate_limit_per_ms"),
    // A quota: uses left (null: unlimited), set back to `refill_uses` every `refill_every_ms` after `refilled_at`.
    remainingUses: integer("remaining_uses"),
    refillUses: integer("refill_uses"),
    refillEveryMs: integer("refill_every_ms"),
    refilledAt: integer("refilled_at", { mode: "timestamp_ms" }),
    // What it may open beyond its role (/auth/forward?scope=…); null or empty: no scope check passes.
    scopes: text("scopes", { mode: "json" }).$type<string[]>(),
  },
  // Lists page newest first by (created_at, id), overall or for one user.
  (table) => [
    uniqueIndex("tokens_hash_unique").on(table.hash),
    index("tokens_user_idx").on(table.user, table.createdAt, table.id),
    index("tokens_created_idx").on(table.createdAt, table.id),
    // Issuing any other token retires the user's lab tokens: this finds them without walking all of theirs.
    index("tokens_lab_user_idx").on(table.user).where(sql`${table.source} = 'lab'`),
  ],
);

/**
 * Who did what, newest last: token changes, bootstrap, authentication failures. No secrets.
 * Identical failures within a minute are one row; `count` says how many it stands for.
 */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    action: text("action").notNull(),
    actor: text("actor"),
    user: text("user"),
    tokenId: text("token_id"),
    ip: text("ip"),
    detail: text("detail"),
    count: integer("count").notNull().default(1),
  },
  (table) => [
    index("audit_at_idx").on(table.at),
    index("audit_user_idx").on(table.user, table.at),
    index("audit_action_idx").on(table.action, table.at),
  ],
);

/**
 * People who log in with a password. The name is the token's `user`, in lower case, so a
 * disabled account's tokens can be refused with one join. Only an argon2id hash is kept.
 */
export const users = sqliteTable(
  "users",
  {
    username: text("username").primaryKey(),
    passwordHash: text("password_hash").notNull(),
    role: text("role").notNull().default("user"),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    // The scopes the account's browser sessions carry (issue 17).
    scopes: text("scopes", { mode: "json" }).$type<string[]>(),
  },
  (table) => [index("users_created_idx").on(table.createdAt, table.username)],
);

/** A device is active, waits for an admin's approval (pending), or was revoked by one. */
export const deviceStatuses = ["active", "pending", "revoked"] as const;

/**
 * Machines known by a hardware fingerprint (the device-token flow). Pending ones wait for an
 * admin. Under approval enrollment, the SHA-256 of the one-time secret the device collects its
 * tokens with.
 */
export const devices = sqliteTable(
  "devices",
  {
    id: text("id").primaryKey(),
    fingerprint: text("fingerprint").notNull().unique(),
    label: text("label"),
    status: text("status", { enum: deviceStatuses }).notNull(),
    enrollmentSecretHash: text("enrollment_secret_hash"),
    /** RFC 7638 thumbprint of the key the device proved it holds (DPoP): its tokens are bound to it. Null: not key-bound. */
    keyThumbprint: text("key_thumbprint"),
    firstSeen: integer("first_seen", { mode: "timestamp_ms" }).notNull(),
    lastSeen: integer("last_seen", { mode: "timestamp_ms" }).notNull(),
  },
  // Lists page newest first by (first_seen, id), overall or in one status.
  (table) => [index("devices_first_seen_idx").on(table.firstSeen, table.id), index("devices_status_idx").on(table.status, table.firstSeen, table.id)],
);

/**
 * A device's main token (JWT) and short token, by hash only. The id is the JWT's `jti`; issue and
 * expiry are whole seconds, the JWT's own `iat` and `exp`.
 */
export const deviceTokens = sqliteTable(
  "device_tokens",
  {
    id: text("id").primaryKey(),
    deviceId: text("device_id")
      .notNull()
      .references(() => devices.id, { onDelete: "cascade" }),
    mainHash: text("main_hash").notNull().unique(),
    shortHash: text("short_hash").notNull().unique(),
    issuedAt: integer("issued_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (table) => [index("device_tokens_device_idx").on(table.deviceId)],
);

/**
 * Browser sign-ins (the portal). Only the SHA-256 of the cookie value is kept. `ip` and
 * `last_seen_at` are written at most once a minute; `ended_at` is a sign-out, or a password or
 * role change, which ends the session at once.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    hash: text("hash").notNull().unique(),
    /** The host-only cookie's hash, for Keyward's own pages; null for sessions opened before it existed. */
    consoleHash: text("console_hash").unique(),
    user: text("user").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
    ip: text("ip").notNull(),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
  },
  // Ending a user's sessions and pruning old ones each find their rows without a scan.
  (table) => [index("sessions_user_idx").on(table.user), index("sessions_created_idx").on(table.createdAt)],
);

/**
 * Lockouts, shared by the instances on one database: failures are counted in each instance's
 * memory, and a key one of them locked is written here for the others to load. `noted_at` only
 * grows in commit order (see shared-lockouts.ts), so a reader asks for what is newer than the last
 * it saw. Bookkeeping: kept out of backups, restores and the change signal.
 */
export const authLockouts = sqliteTable(
  "auth_lockouts",
  {
    key: text("key").primaryKey(),
    until: integer("until", { mode: "timestamp_ms" }).notNull(),
    notedAt: integer("noted_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [index("auth_lockouts_noted_idx").on(table.notedAt), index("auth_lockouts_until_idx").on(table.until)],
);

/** How long a usage bucket lasts: a minute, an hour or a day, each aligned to UTC. */
export const usageResolutions = ["1m", "1h", "1d"] as const;
export const usageOutcomes = ["success", "failure"] as const;

/**
 * Authentications over time (issue 19), added to at each usage flush, never per request. `series`
 * is `all` (the whole server: successes by credential source, failures by refusal reason, in
 * `reason`) or a token's id (its successes; reason ""). Each minute's counts go into its 1m, 1h
 * and 1d buckets at once, so the coarser ones are the roll-up and instances' counts add up.
 * Bookkeeping, pruned by age per resolution.
 */
export const usageBuckets = sqliteTable(
  "usage_buckets",
  {
    resolution: text("resolution", { enum: usageResolutions }).notNull(),
    start: integer("start", { mode: "timestamp_ms" }).notNull(),
    series: text("series").notNull(),
    outcome: text("outcome", { enum: usageOutcomes }).notNull(),
    reason: text("reason").notNull(),
    count: integer("count").notNull(),
  },
  // One series' range is read without a scan; pruning and the top tokens read one resolution's range.
  (table) => [
    primaryKey({ columns: [table.resolution, table.series, table.outcome, table.reason, table.start] }),
    index("usage_buckets_series_idx").on(table.resolution, table.series, table.start),
    index("usage_buckets_start_idx").on(table.resolution, table.start),
  ],
);

/**
 * Every table but auth_lockouts, parents before the tables whose foreign keys point at them: a
 * restore fills them in this order and empties them in the reverse one (a child filled before its
 * parent fails the deferred foreign-key check). A test holds the list to the schema and its keys.
 */
export const tablesParentsFirst = [settings, tokens, auditEvents, users, devices, deviceTokens, sessions, usageBuckets] as const;
