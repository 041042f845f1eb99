import { Elysia } from "elysia";
import { accessLog } from "./http/access-log";
import { authentication } from "./http/auth";
import { docs } from "./http/docs";
import { errorHandling } from "./http/errors";
import { auditRoutes } from "./modules/audit/routes";
import { health } from "./modules/health/routes";
import { principalRoutes } from "./modules/principal/routes";
import { tokenRoutes } from "./modules/tokens/routes";
import type { Services } from "./services";

/** The whole HTTP surface, without listening: the binary and the tests build it the same way. */
export function createApp({ store, config, log, verifier, usage, audit }: Services) {
  const auth = authentication({
    verifier,
    usage,
    audit,
    allowQueryToken: config.allowQueryToken,
    trustedProxies: config.trustedProxies,
  });
  return new Elysia()
    .use(errorHandling(log))
    .use(accessLog(log))
    .use(docs)
    .use(health(store))
    .use(principalRoutes(auth))
    .use(tokenRoutes({ db: store.db, auth, verifier, usage, defaultLifetimeMs: config.tokenTtl }))
    .use(auditRoutes({ db: store.db, auth, queue: audit }));
}

export type App = ReturnType<typeof createApp>;
