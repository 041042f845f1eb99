import { Elysia } from "elysia";
import type { Logger } from "../log";
import type { Metrics } from "../modules/metrics/registry";
import type { Principal } from "../modules/tokens/verifier";

/**
 * Watches every request once it is answered: counts it (route template, method, status, time)
 * for /metrics and writes one info line with method, path, status, milliseconds and the user.
 * The path never includes the query string, because a token may travel there (`?token=`).
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
        path: pathOf(request.url),
        status,
        ms: Math.round(ms * 10) / 10,
        // Set by the auth macro: the user (seed 001 logs who made each request), never the token.
        user: (context as { principal?: Principal }).principal?.user,
      });
    });
};

interface Timed {
  startedAt?: number;
}

/** The path of an absolute request URL, without parsing all of it. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const end = url.indexOf("?", start);
  return url.slice(start, end === -1 ? undefined : end);
}
