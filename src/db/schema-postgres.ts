import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { deviceStatuses, tokenSources, usageOutcomes, usageResolutions } from "./schema";

/**
 * The PostgreSQL twin of schema.ts, which says what each table and column means. Same export names,
 * property names, row types, indexes and keys: queries are written once, against schema.ts, and
 * test/db/schema-parity.test.ts holds the two together. Only the column types differ.
 */
export { deviceStatuses, tokenSources, usageOutcomes, usageResolutions };

/** SQLite's integer milliseconds: a timestamptz kept to the millisecond, read back as a Date. */
const ms = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

export const tokens = pgTable(
  "tokens",
  {
    id: text("id").primaryKey(),
    user: text("user").notNull(),
    name: text("name"),
    role: text("role").notNull().default("user"),
    hash: text("hash").notNull(),
    hint: text("hint").notNull(),
    source: text("source", { enum: tokenSources }).notNull(),
    createdAt: ms("created_at").notNull(),
    expiresAt: ms("expires_at"),
    revokedAt: ms("revoked_at"),
    revokeReason: text("revoke_reason"),
    replacedBy: text("replaced_by"),
    allowedIps: jsonb("allowed_ips").$type<string[]>(),
    lastUsedAt: ms("last_used_at"),
    lastIp: text("last_ip"),
    // Every instance adds its own counts to it: an int4 would overflow on a busy token. Read back as a number.
    requestCount: bigint("request_count", { mode: "number" }).notNull().default(0),
    rateLimitRequests: integer("rate_limit_requests"),
    rateLimitPerMs: bigint("rate_limit_per_ms", { mode: "number" }),
    remainingUses: integer("remaining_uses"),
    refillUses: integer("refill_uses"),
    refillEveryMs: bigint("refill_every_ms", { mode: "number" }),
    refilledAt: ms("refilled_at"),
    scopes: jsonb("scopes").$type<string[]>(),
  },
  (table) => [
    uniqueIndex("tokens_hash_unique").on(table.hash),
    index("tokens_user_idx").on(table.user, table.createdAt, table.id),
    index("tokens_created_idx").on(table.createdAt, table.id),
    index("tokens_lab_user_idx").on(table.user).where(sql`${table.source} = 'lab'`),
  ],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    // 64-bit like SQLite's rowid, so the two run out at the same point; by default, not always,
    // as a restore writes the ids it reads from a backup.
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    at: ms("at").notNull(),
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

export const users = pgTable(
  "users",
  {
    username: text("username").primaryKey(),
    passwordHash: text("password_hash").notNull(),
    role: text("role").notNull().default("user"),
    disabled: boolean("disabled").notNull().default(false),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    scopes: jsonb("scopes").$type<string[]>(),
  },
  (table) => [index("users_created_idx").on(table.createdAt, table.username)],
);

export const devices = pgTable(
  "devices",
  {
    id: text("id").primaryKey(),
    fingerprint: text("fingerprint").notNull().unique(),
    label: text("label"),
    status: text("status", { enum: deviceStatuses }).notNull(),
    enrollmentSecretHash: text("enrollment_secret_hash"),
    /** RFC 7638 thumbprint of the key the device proved it holds (DPoP): its tokens are bound to it. Null: not key-bound. */
    keyThumbprint: text("key_thumbprint"),
    firstSeen: ms("first_seen").notNull(),
    lastSeen: ms("last_seen").notNull(),
  },
  (table) => [index("devices_first_seen_idx").on(table.firstSeen, table.id), index("devices_status_idx").on(table.status, table.firstSeen, table.id)],
);

export const deviceTokens = pgTable(
  "device_tokens",
  {
    id: text("id").primaryKey(),
    deviceId: text("device_id")
      .notNull()
      .references(() => devices.id, { onDelete: "cascade" }),
    mainHash: text("main_hash").notNull().unique(),
    shortHash: text("short_hash").notNull().unique(),
    issuedAt: ms("issued_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
    revokedAt: ms("revoked_at"),
  },
  (table) => [index("device_tokens_device_idx").on(table.deviceId)],
);

export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    hash: text("hash").notNull().unique(),
    consoleHash: text("console_hash").unique(),
    user: text("user").notNull(),
    createdAt: ms("created_at").notNull(),
    lastSeenAt: ms("last_seen_at").notNull(),
    ip: text("ip").notNull(),
    endedAt: ms("ended_at"),
  },
  (table) => [index("sessions_user_idx").on(table.user), index("sessions_created_idx").on(table.createdAt)],
);

export const authLockouts = pgTable(
  "auth_lockouts",
  {
    key: text("key").primaryKey(),
    until: ms("until").notNull(),
    notedAt: ms("noted_at").notNull(),
  },
  (table) => [index("auth_lockouts_noted_idx").on(table.notedAt), index("auth_lockouts_until_idx").on(table.until)],
);

export const usageBuckets = pgTable(
  "usage_buckets",
  {
    resolution: text("resolution", { enum: usageResolutions }).notNull(),
    start: ms("start").notNull(),
    series: text("series").notNull(),
    outcome: text("outcome", { enum: usageOutcomes }).notNull(),
    reason: text("reason").notNull(),
    // A busy server's day of successes can pass integer's 2^31.
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.resolution, table.series, table.outcome, table.reason, table.start] }),
    index("usage_buckets_series_idx").on(table.resolution, table.series, table.start),
    index("usage_buckets_start_idx").on(table.resolution, table.start),
  ],
);

export const tablesParentsFirst = [settings, tokens, auditEvents, users, devices, deviceTokens, sessions, usageBuckets] as const;
