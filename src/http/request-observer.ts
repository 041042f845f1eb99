import { Elysia } from "elysia";
import type { Logger } from "../log";
import type { Metrics } from "../modules/metrics/registry";
import type { Principal } from "../modules/tokens/verifier";
import { loggedPath } from "./log-redaction";

const routeOf = Symbol("keyward.route");
const userOf = Symbol("keyward.user");
type Observed = Request & { [routeOf]?: string; [userOf]?: string };

/** What the envelope (envelope.ts) needs of the observer. */
export interface RequestObserver {
  /** Hooks noting the route template (and the user), for every route. */
  hooks: Elysia;
  /** A request answered: counted, and logged when info logging is on. `start` is performance.now() at its arrival. */
  answered(request: Request, response: Response, start: number): void;
}

/**
 * Names who made a request in its access-log line (the multi-token setup logs who made each
 * request), never the token: called wherever a credential is admitted. A symbol written on the
 * request rather than a hook reading the context: a hook would cost every request.
 */
export function noteUser(request: Request, principal: Principal): void {
  (request as Observed)[userOf] = principal.user;
}

/**
 * Watches every request once it is answered: counts it (route template, method, status, time)
 * for /metrics and, when info logging is on, writes one line with method, path, status,
 * milliseconds and the user. The path is logged without the query string and without anything
 * that may be a token.
 *
 * The envelope calls it around the whole handling rather than through each request's lifecycle:
 * a global `onRequest` makes every route read the URL, and an `onAfterResponse` schedules a task
 * per request. The route template is known only inside, so it is noted on the request where a
 * matched route starts (transform) or where an error is handled (a body that fails to parse, no
 * such route), whichever comes first; the user where a credential is admitted (`noteUser`).
 */
export const requestObserver = (log: Logger, metrics: Metrics): RequestObserver => {
  const logging = log.enabled("info");

  const noteRoute = ({ request, route }: { request: Request; route: string }) => {
    (request as Observed)[routeOf] ??= route;
  };
  const hooks = new Elysia({ name: "keyward/request-observer" }).onTransform({ as: "global" }, noteRoute).onError({ as: "global" }, noteRoute);

  return {
    hooks,
    answered(request: Observed, response, start) {
      const ms = performance.now() - start;
      metrics.request(request[routeOf] || "unmatched", request.method, response.status, ms / 1000);
      if (!logging) return;
      log.info("request", {
        method: request.method,
        path: loggedPath(request.url),
        status: response.status,
        ms: Math.round(ms * 10) / 10,
        user: request[userOf],
      });
    },
  };
};
