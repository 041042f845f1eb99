import { Elysia } from "elysia";
import type { Logger } from "../log";
import type { Metrics } from "../modules/metrics/registry";
import type { Principal } from "../modules/tokens/verifier";
import { loggedPath } from "./log-redaction";

/**
 * Watches every request once it is answered: counts it (route template, method, status, time)
 * for /metrics and writes one info line with method, path, status, milliseconds and the user.
 * The path is logged without the query string and without anything that may be a token.
 */
export const requestObserver = (log: Logger, metrics: Metrics) => {
  const logging = log.enabled("info");
  return new Elysia({ name: "keyward/request-observer" })
    .onRequest((context) => {
      // On the request's own context object: no per-request map for the garbage collector.
      (context as Timed).startedAt = performance.now();
    })
    .onAfterResponse({ as: "global" }, (context) => {
      const { request, set, route } = context;
      const start = (context as Timed).startedAt;
      const ms = start === undefined ? 0 : performance.now() - start;
      const status = Number(set.status ?? 200);
      metrics.request(route || "unmatched", request.method, status, ms / 1000);
      if (!logging) return;
      log.info("request", {
        method: request.method,
        path: loggedPath(request.url),
        status,
        ms: Math.round(ms * 10) / 10,
        // Set by the auth macro: the user (the multi-token setup logs who made each request), never the token.
        user: (context as { principal?: Principal }).principal?.user,
      });
    });
};

interface Timed {
  startedAt?: number;
}
