import type { Config } from "./config";
import type { Store } from "./db/client";
import type { Logger } from "./log";
import { AuditQueue } from "./modules/audit/service";
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
  /** Writes what is batched in memory (usage counts, failed-auth events). */
  flush(): void;
}

export function createServices(store: Store, config: Config, log: Logger): Services {
  const envTokens = syncEnvTokens(store.db, config);
  for (const { label, token } of config.apiTokens) {
    if (token.length < 16) log.warn("an API_TOKENS entry is short and guessable; use openssl rand -hex 32", { label });
  }
  const usage = new UsageTracker(store.db);
  const audit = new AuditQueue(store.db);
  return {
    store,
    config,
    log,
    verifier: new TokenVerifier(store.db, envTokens),
    usage,
    audit,
    flush() {
      usage.flush();
      audit.flush();
    },
  };
}
