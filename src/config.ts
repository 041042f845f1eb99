import {
  oneOf,
  parseAdminToken,
  parseApiTokens,
  parseBoolean,
  parseCidrList,
  parseDays,
  parseHost,
  parsePath,
  parsePort,
  parsePositiveDuration,
  parseRoleName,
  parseSecretKey,
  parseWhole,
  type EnvToken,
} from "./config-values";
import type { Cidr } from "./lib/cidr";
import { displayDb, parseDb } from "./config-db";
import { MIN_ENV_TOKEN_BITS } from "./config-env-tokens";
import { parseCookieDomain, parsePublicUrl, parseSessionDuration } from "./config-portal";
import { parseDuration, parseLifetime } from "./lib/durations";

export type { EnvToken };
export { weakEnvTokens } from "./config-env-tokens";

export const logLevels = ["debug", "info", "warn", "error"] as const;
export const logFormats = ["text", "json"] as const;
export const jwtAlgorithms = ["HS256", "HS384", "HS512"] as const;
export const enrollmentPolicies = ["open", "token", "approval"] as const;

/** A setting has a bad value; the message names where it came from. Startup exits with 2. */
export class ConfigError extends Error {}

/** Where values come from, highest precedence first: flags, then environment, then `.env`. */
export interface ConfigSources {
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  dotenv: Record<string, string | undefined>;
}

export interface Setting<T> {
  env: readonly string[];
  flag?: string;
  fallback: T;
  parse: (raw: string) => T;
  help: string;
  /** Never echo the value: an error names only the variable. */
  secret?: boolean;
  /** How an error echoes the value, when not as given (a database URL without its password). */
  show?: (raw: string) => string;
}

const setting = <T>(s: Setting<T>) => s;
/** How long usage buckets of one resolution are kept: pruned by age, so the table stays bounded. */
const usageKept = (env: string, fallback: string, help: string) => setting({ env: [env], fallback: parseDuration(fallback), parse: parsePositiveDuration, help });

/** Every setting Keyward reads: the README's configuration table is written from this list. */
export const settings = {
  host: setting({
    env: ["KEYWARD_HOST"],
    flag: "host",
    fallback: "0.0.0.0",
    parse: parseHost,
    help: "address to listen on (all interfaces by default: it is a LAN server)",
  }),
  port: setting({
    env: ["KEYWARD_PORT", "PORT"],
    flag: "port",
    fallback: 8000,
    parse: parsePort,
    help: "TCP port; 0 picks a free one (the chosen port is logged)",
  }),
  db: setting({
    env: ["KEYWARD_DB"],
    flag: "db",
    fallback: "./data/keyward.db",
    parse: parseDb,
    show: displayDb,
    help: "SQLite database file (its directory is created if missing), or postgres://user:password@host:5432/database to share one PostgreSQL between several instances (SECRET_KEY then required)",
  }),
  logLevel: setting({
    env: ["KEYWARD_LOG"],
    fallback: "info" as (typeof logLevels)[number],
    parse: oneOf(logLevels),
    help: "least severe log level written: debug, info, warn or error",
  }),
  logFormat: setting({
    env: ["KEYWARD_LOG_FORMAT"],
    fallback: "text" as (typeof logFormats)[number],
    parse: oneOf(logFormats),
    help: "text (one readable line per event) or json (one JSON object per line)",
  }),
  allowInsecurePermissions: setting({
    env: ["KEYWARD_ALLOW_INSECURE_PERMISSIONS"],
    flag: "allow-insecure-permissions",
    fallback: false,
    parse: parseBoolean,
    help: "start even if the database file can be read by other users of the machine",
  }),
  tlsCert: setting({
    env: ["KEYWARD_TLS_CERT"],
    flag: "tls-cert",
    fallback: null as string | null,
    parse: parsePath,
    help: "PEM certificate file: with --tls-key, serve HTTPS (keyward tls init makes a self-signed pair)",
  }),
  tlsKey: setting({
    env: ["KEYWARD_TLS_KEY"],
    flag: "tls-key",
    fallback: null as string | null,
    parse: parsePath,
    help: "PEM private key file for --tls-cert",
  }),
  tokenTtl: setting({
    env: ["KEYWARD_TOKEN_TTL"],
    fallback: parseLifetime("90d") as number | null,
    parse: parseLifetime,
    help: "lifetime of a new token when none is given: a duration (45s, 30m, 12h, 90d) or never",
  }),
  allowQueryToken: setting({
    env: ["KEYWARD_ALLOW_QUERY_TOKEN"],
    fallback: true,
    parse: parseBoolean,
    help: "accept a token as ?token=… in the URL (as simple LAN clients send it); false to require headers",
  }),
  trustedProxies: setting({
    env: ["KEYWARD_TRUSTED_PROXIES"],
    fallback: [] as Cidr[],
    parse: parseCidrList,
    help: "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed",
  }),
  loginTtl: setting({
    env: ["KEYWARD_LOGIN_TTL"],
    fallback: parseLifetime("1h") as number | null,
    parse: parseLifetime,
    help: "lifetime of a token handed out by POST /login",
  }),
  openLogin: setting({
    env: ["KEYWARD_OPEN_LOGIN"],
    fallback: false,
    parse: parseBoolean,
    help: "classroom lab mode (the login/echo lab): /login with only an id, for a name that is not an account, issues a token without a password",
  }),
  maxFailures: setting({
    env: ["KEYWARD_MAX_FAILURES"],
    fallback: 10,
    parse: (raw) => parseWhole(raw, 1, 1_000_000),
    help: "failed logins or token presentations per client address (or user name) before 429",
  }),
  failureWindow: setting({
    env: ["KEYWARD_FAILURE_WINDOW"],
    fallback: parseDuration("1m"),
    parse: parsePositiveDuration,
    help: "the window those failures are counted in, and how long a lockout lasts",
  }),
  auditRetention: setting({
    env: ["KEYWARD_AUDIT_RETENTION"],
    fallback: parseDuration("90d") as number | null,
    parse: (raw) => (raw.trim().toLowerCase() === "never" ? null : parsePositiveDuration(raw)),
    help: "audit events older than this are deleted (a second after start, then every minute): a duration (30d, 12h) or never",
  }),
  auditMaxRows: setting({
    env: ["KEYWARD_AUDIT_MAX_ROWS"],
    fallback: 100_000,
    parse: (raw) => parseWhole(raw, 1000, 100_000_000),
    help: "most rows the audit log keeps; past it, the oldest are deleted (identical failures within a minute are one row)",
  }),
  usageMinutes: usageKept("KEYWARD_USAGE_MINUTES", "24h", "minute buckets of usage over time (GET /api/v1/usage) older than this are deleted"),
  usageHours: usageKept("KEYWARD_USAGE_HOURS", "90d", "hour buckets of usage over time older than this are deleted"),
  // Two years keeps a year-on-year comparison, and a server that runs for decades a bounded table.
  usageDays: usageKept("KEYWARD_USAGE_DAYS", "730d", "day buckets of usage over time older than this are deleted"),
  stopDrain: setting({
    env: ["KEYWARD_STOP_DRAIN"],
    fallback: parseDuration("8s"),
    parse: (raw) => {
      const ms = parseDuration(raw);
      if (ms > 60_000) throw new Error(`"${raw}" is longer than a minute`);
      return ms;
    },
    help: "on SIGTERM, how long requests in flight get to finish before their connections are closed (at most 1m); the process ends within this plus 7s",
  }),
  secretKey: setting({
    env: ["SECRET_KEY"],
    fallback: null as string | null,
    parse: parseSecretKey,
    help: "key that signs device main tokens (JWT); if unset, one is generated at first start and kept in the database",
    secret: true,
  }),
  algorithm: setting({
    env: ["ALGORITHM"],
    fallback: "HS256" as (typeof jwtAlgorithms)[number],
    parse: (raw) => {
      const value = raw.trim().toUpperCase();
      if (!jwtAlgorithms.includes(value as (typeof jwtAlgorithms)[number])) throw new Error(`must be one of ${jwtAlgorithms.join(", ")}`);
      return value as (typeof jwtAlgorithms)[number];
    },
    help: "signing algorithm of device main tokens: HS256, HS384 or HS512; verification accepts only this one",
  }),
  deviceTokenDays: setting({
    env: ["ACCESS_TOKEN_EXPIRE_DAY"],
    fallback: 30,
    parse: parseDays,
    help: "lifetime of a device main token, in days (decimals allowed: 0.5 is twelve hours)",
  }),
  deviceEnrollment: setting({
    env: ["KEYWARD_DEVICE_ENROLLMENT"],
    fallback: "open" as (typeof enrollmentPolicies)[number],
    parse: oneOf(enrollmentPolicies),
    help: "who may enroll a device: open (anyone with a fingerprint, as the device-token flow was designed), token (a valid user token), approval (an admin approves each)",
  }),
  deviceRequireKey: setting({
    env: ["KEYWARD_DEVICE_REQUIRE_KEY"],
    fallback: false,
    parse: parseBoolean,
    help: "enrollments must prove a device key (a DPoP proof, RFC 9449) and bind the device's tokens to it; devices already enrolled without one verify until their tokens expire, then must bring a key",
  }),
  deviceEnrollRate: setting({
    env: ["KEYWARD_DEVICE_ENROLL_RATE"],
    fallback: 60,
    parse: (raw) => parseWhole(raw, 1, 1_000_000),
    help: "device enrollment requests per client address per minute before 429 (the default lets dozens of devices behind one NAT enroll in a minute)",
  }),
  introspectRole: setting({
    env: ["KEYWARD_INTROSPECT_ROLE"],
    fallback: "resource-server",
    parse: parseRoleName,
    help: "besides admin, the role whose tokens may call POST /oauth/introspect (give it to your resource servers)",
  }),
  metricsRole: setting({
    env: ["KEYWARD_METRICS_ROLE"],
    fallback: "metrics",
    parse: parseRoleName,
    help: "besides admin, the role whose tokens may read GET /metrics (give it to your Prometheus)",
  }),
  metricsPublic: setting({
    env: ["KEYWARD_METRICS_PUBLIC"],
    fallback: false,
    parse: parseBoolean,
    help: "serve GET /metrics without a token (for a Prometheus on the same trusted network)",
  }),
  adminToken: setting({
    env: ["KEYWARD_ADMIN_TOKEN"],
    fallback: null as string | null,
    parse: parseAdminToken,
    help: "a token (at least 16 characters) that is always an admin token; changing it retires the old value",
    secret: true,
  }),
  apiTokens: setting({
    env: ["API_TOKENS"],
    fallback: [] as EnvToken[],
    parse: parseApiTokens,
    help: "comma-separated label:token or bare token entries accepted as tokens (the multi-token list); a label spelled like a role (admin, analyst) is also the role",
    secret: true,
  }),
  allowWeakEnvTokens: setting({
    env: ["KEYWARD_ALLOW_WEAK_ENV_TOKENS"],
    fallback: false,
    parse: parseBoolean,
    help: `start even with API_TOKENS or KEYWARD_ADMIN_TOKEN values under ${MIN_ENV_TOKEN_BITS} bits (only lockout then slows guessing)`,
  }),
  publicUrl: setting({
    env: ["KEYWARD_PUBLIC_URL"],
    fallback: null as string | null,
    parse: parsePublicUrl,
    help: "how browsers reach Keyward (https://auth.home.lan): turns on the sign-in portal, whose session cookie /auth/forward accepts",
  }),
  cookieDomain: setting({
    env: ["KEYWARD_COOKIE_DOMAIN"],
    fallback: null as string | null,
    parse: parseCookieDomain,
    help: "the domain whose hosts share a sign-in (home.lan); it must cover the public URL's host. Unset: the public URL's host only",
  }),
  sessionIdle: setting({
    env: ["KEYWARD_SESSION_IDLE"],
    fallback: parseDuration("12h"),
    parse: parseSessionDuration,
    help: "a browser session unused this long ends (measured to the minute)",
  }),
  sessionMax: setting({
    env: ["KEYWARD_SESSION_MAX"],
    fallback: parseDuration("7d"),
    parse: parseSessionDuration,
    help: "a browser session ends this long after its sign-in, however much it is used",
  }),
};

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: Settings[K]["fallback"] };
