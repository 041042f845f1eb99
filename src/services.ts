import { DpopProofs } from "./modules/auth/dpop";
import { ProofReplays } from "./modules/auth/proof-replays";
import { keyBinding } from "./modules/auth/key-binding";
import { SharedProofReplays } from "./modules/auth/shared-proof-replays";
import type { PostgresStore } from "./db/postgres-client";
import { weakEnvTokens, type Config } from "./config";
import { parseDbTarget } from "./config-db";
import type { Store } from "./db/client";
import { FailureLimiter } from "./lib/failure-limiter";
import { Lockout } from "./modules/auth/lockout";
import { SharedLockouts } from "./modules/auth/shared-lockouts";
import { createAuthCore, type AuthCore } from "./modules/auth/service";
import type { Logger } from "./log";
import { AuditQueue } from "./modules/audit/service";
import { DeviceSightings, type DeviceCheck } from "./modules/devices/service";
import { DeviceTokenChecker } from "./modules/devices/device-token-cache";
import { DeviceSigner, loadSigningSecret } from "./modules/devices/signing";
import { Metrics } from "./modules/metrics/registry";
import { sessionLifetimes, Sessions } from "./modules/portal/sessions";
import { syncEnvTokens } from "./modules/tokens/env-tokens";
import { Quotas } from "./modules/tokens/quota";
import { RateLimiter } from "./modules/tokens/rate-limit";
import { UsageTracker } from "./modules/tokens/usage";
import { TokenVerifier } from "./modules/tokens/verifier";
import { UsageSeries } from "./modules/usage/series";
import { Tallies } from "./modules/usage/tallies";
import { whenSettled } from "./lib/settled";
import { countHandlers, type HandlerCount } from "./shutdown";

/** The long-lived parts of a running server, built once from the database and the config. */
export interface Services {
  store: Store;
  config: Config;
  log: Logger;
  verifier: TokenVerifier;
  usage: UsageTracker;
  /** Authentications over time, per token and for the whole server. */
  series: UsageSeries;
  audit: AuditQueue;
  /** The one authentication core: every credential is decided there. */
  core: AuthCore;
  /** The core's failure budgets, read by the admin's list of current lockouts. */
  lockout: Lockout;
  /** Tokens' rate-limit windows, read by the admin's view of one token. */
  rates: RateLimiter;
  /** Browser sign-in sessions (the portal), decided by the core. */
  sessions: Sessions;
  signer: DeviceSigner;
  sightings: DeviceSightings;
  metrics: Metrics;
  /** The injected clock: tests advance it instead of sleeping. */
  now: () => number;
  /** Requests being handled: a stop waits for them. */
  handlers: HandlerCount;
  /** Writes what is batched in memory (usage counts and series, failed-auth events, sightings, session uses, lockouts); throws the first failure after trying each. */
  flush(): Promise<void>;
  /** Ends the background rounds (lockouts shared with other instances): before the last flush and the store's close. */
  stop(): Promise<void>;
}

/** Failed lab logins are not the point: any lab login counts towards this many per address and window. */
const LAB_LOGINS_PER_WINDOW = 20;

export async function createServices(store: Store, config: Config, log: Logger, now: () => number = Date.now): Promise<Services> {
  const envTokens = await syncEnvTokens(store, config);
  for (const weak of weakEnvTokens(config)) {
    log.warn("a weak environment token is allowed by KEYWARD_ALLOW_WEAK_ENV_TOKENS: only lockout slows guessing it; use openssl rand -hex 32", { entry: weak });
  }
  for (const refused of envTokens.refused) {
    log.warn("an environment token stays refused: its record was revoked; configure a new value to replace it", { entry: refused });
  }
  if (config.openLogin) {
    log.warn("KEYWARD_OPEN_LOGIN is on: /login hands out tokens for any name that is not an account, without a password");
  }
  // Token uses are counted in place and handed on to these three when one of them reads.
  const tallies = new Tallies();
  const usage = new UsageTracker(store, log, tallies.settle);
  const audit = new AuditQueue(store, { maxAgeMs: config.auditRetention, maxRows: config.auditMaxRows }, now);
  const verifier = new TokenVerifier(store, envTokens.hashes);
  const failures = () => new FailureLimiter(config.maxFailures, config.failureWindow);
  // A private in-memory database (the tests') has no other instance to share lockouts with.
  const sharedLocks = "path" in store && store.path === ":memory:" ? null : new SharedLockouts(store, log, now);
  const lockout = new Lockout(failures(), failures(), audit, now, sharedLocks ?? undefined);
  // Instances on one PostgreSQL database must sign alike: the key lives there, sealed with SECRET_KEY.
  const shared = parseDbTarget(config.db).kind === "postgres";
  const signer = new DeviceSigner(await loadSigningSecret(store, config.secretKey, { shared }), config.algorithm);
  const sightings = new DeviceSightings(store, log);
  const series = new UsageSeries(store, log, { "1m": config.usageMinutes, "1h": config.usageHours, "1d": config.usageDays }, now, tallies.settle);
  const metrics = new Metrics(series, tallies.settle);
  tallies.deliverTo([usage, series, metrics]);
  const deviceTokens = new DeviceTokenChecker(store, signer);
  const seen = (check: DeviceCheck | Promise<DeviceCheck>) =>
    whenSettled(check, (done) => {
      if (done.ok) sightings.seen(done.device.id);
      return done;
    });
  // Without a fingerprint (the device-token flow's verify, introspection on a device's behalf) a token is
  // remembered all the same: the fingerprint is compared after the cache, never part of its key.
  const devices = {
    main: (jwt: string, fingerprint: string | null) => seen(deviceTokens.main(jwt, fingerprint, now())),
    short: (shortToken: string, fingerprint: string | null) => seen(deviceTokens.short(shortToken, fingerprint, now())),
  };
  const lab = { enabled: config.openLogin, rate: new FailureLimiter(LAB_LOGINS_PER_WINDOW, config.failureWindow) };
  const sessions = new Sessions(store, sessionLifetimes(config));
  sharedLocks?.follow(lockout);
  const limits = { rates: new RateLimiter(), quotas: new Quotas(store) };
  // Several instances share spent proofs through their database; a SQLite file has one server.
  const replays = store.engine === "postgres" ? new SharedProofReplays(new ProofReplays(), (store as PostgresStore).sql) : null;
  const keys = keyBinding(new DpopProofs(replays ?? new ProofReplays()), now);
  const core = createAuthCore({ db: store.db, verifier, tallies, audit, metrics, lockout, devices, sessions, lab, limits, keys, now });
  return {
    store,
    config,
    log,
    verifier,
    usage,
    series,
    audit,
    core,
    lockout,
    rates: limits.rates,
    sessions,
    now,
    signer,
    sightings,
    metrics,
    handlers: countHandlers(),
    async flush() {
      // One buffer's failure must not hold back the others' writes.
      const failures: unknown[] = [];
      const pruned = replays ? [{ flush: () => replays.prune(now()) }] : [];
      for (const buffer of [audit, usage, series, sightings, { flush: () => sessions.flush(now()) }, ...(sharedLocks ? [sharedLocks] : []), ...pruned]) {
        try {
          await buffer.flush();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    },
    stop: async () => {
      await sharedLocks?.stop();
    },
  };
}
