import { Elysia } from "elysia";
import type { Store } from "../../db/client";
import { errorBody, withFailures } from "../../http/errors";
import { VERSION } from "../../version";
import { Health, Unhealthy } from "./model";
import { databaseIsUsable } from "./service";

export const health = (store: Store) =>
  new Elysia({ name: "keyward/health", detail: { tags: ["System"] } }).get(
    "/health",
    async ({ status }) =>
      (await databaseIsUsable(store))
        ? { status: "ok" as const, version: VERSION }
        : status(503, { status: "unavailable" as const, version: VERSION, ...errorBody("database_unavailable", "The database cannot be read") }),
    {
      response: withFailures({ 200: Health, 503: Unhealthy }),
      detail: {
        summary: "Is the server up and its database usable?",
        description: "For load balancers and monitors. Needs no token.",
        security: [],
      },
    },
  );
