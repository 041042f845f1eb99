import { Elysia } from "elysia";
import type { Store } from "./db/client";
import { accessLog } from "./http/access-log";
import { docs } from "./http/docs";
import { errorHandling } from "./http/errors";
import type { Logger } from "./log";
import { health } from "./modules/health/routes";

export interface AppDeps {
  store: Store;
  log: Logger;
}

/** The whole HTTP surface, without listening: the binary and the tests build it the same way. */
export function createApp({ store, log }: AppDeps) {
  return new Elysia()
    .use(errorHandling(log))
    .use(accessLog(log))
    .use(docs)
    .use(health(store));
}

export type App = ReturnType<typeof createApp>;
