import { weakEnvTokens, type Config } from "./config";
import type { Store } from "./db/client";
import { createAuthenticator, type Authenticate, type CheckShortToken } from "./http/authenticate";
import { FailureLimiter } from "./lib/failure-limiter";
import type { Logger } from "./log";
import { AuditQueue } from "./modules/audit/service";
import { DeviceSightings, verifyMainToken, type DeviceCheck } from "./modules/devices/service";
import { ShortTokenChecker } from "./modules/devices/short-token-cache";
import { DeviceSigner, loadSigningSecret } from "./modules/devices/signing";
import { Metrics } from "./modules/metrics/registry";
import { syncEnvTokens } from "./modules/tokens/env-tokens";
import { UsageTracker } from "./modules/tokens/usage";
import { TokenVerifier } from "./modules/tokens/verifier";

/** The long-lived parts of a running server, built once from the database and the config. */
export interface Services {
  store: Store;
  config: Config;
  log: Logger;
  verifier: TokenVerifier;
  usage: UsageTracker;
  audit: AuditQueue;
  /** Failed logins and token presentations, per client address and per user name. */
  failures: FailureLimiter;
  signer: DeviceSigner;
  sightings: DeviceSightings;
  shortTokens: ShortTokenChecker;
  metrics: Metrics;
  authenticate: Authenticate;
  checkShortToken: CheckShortToken;
  /** Writes what is batched in memory (usage counts, failed-auth events). */
  flush(): void;
}

export function createServices(store: Store, config: Config, log: Logger): Services {
  const envTokens = syncEnvTokens(store.db, config);
  for (const weak of weakEnvTokens(config)) {
    log.warn("a weak environment token is allowed by KEYWARD_ALLOW_WEAK_ENV_TOKENS: only lockout slows guessing it; use openssl rand -hex 32", { entry: weak });
  }
  for (const refused of envTokens.refused) {
    log.warn("an environment token stays refused: its record was revoked; configure a new value to replace it", { entry: refused });
  }
  if (config.openLogin) {
    log.warn("KEYWARD_OPEN_LOGIN is on: /login hands out tokens for any name that is not an account, without a password");
  }
  const usage = new UsageTracker(store.db);
  const audit = new AuditQueue(store.db);
  const verifier = new TokenVerifier(store.db, envTokens.hashes);
  const failures = new FailureLimiter(config.maxFailures, config.failureWindow);
  const signer = new DeviceSigner(loadSigningSecret(store.db, config.secretKey), config.algorithm);
  const sightings = new DeviceSightings(store.db);
  const metrics = new Metrics();
  const shortTokens = new ShortTokenChecker(store.db, signer);
  const seen = (check: DeviceCheck) => {
    if (check.ok) sightings.seen(check.device.id);
    return check;
  };
  const devices = {
    main: async (jwt: string, fingerprint: string) => seen(await verifyMainToken(store.db, signer, jwt, fingerprint)),
    short: async (shortToken: string, fingerprint: string) => seen(await shortTokens.check(shortToken, fingerprint)),
  };
  const { authenticate, checkShortToken } = createAuthenticator({ verifier, usage, audit, failures, devices, metrics });
  return {
    store,
    config,
    log,
    verifier,
    usage,
    audit,
    failures,
    signer,
    sightings,
    shortTokens,
    metrics,
    authenticate,
    checkShortToken,
    flush() {
      usage.flush();
      audit.flush();
      sightings.flush();
    },
  };
}
