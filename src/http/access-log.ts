import { Elysia } from "elysia";
import type { Logger } from "../log";
import type { Principal } from "../modules/tokens/verifier";

/**
 * One info line per request: method, path, status, milliseconds. The path never includes the
 * query string, because a token may travel there (`?token=`).
 */
export const accessLog = (log: Logger) => {
  // Below info level there is nothing to write: no hooks at all, so no cost per request.
  if (!log.enabled("info")) return new Elysia({ name: "keyward/access-log" });
  const started = new WeakMap<Request, number>();
  return new Elysia({ name: "keyward/access-log" })
    .onRequest(({ request }) => {
      started.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, (context) => {
      const { request, set } = context;
      const start = started.get(request);
      log.info("request", {
        method: request.method,
        path: pathOf(request.url),
        status: Number(set.status ?? 200),
        ms: start === undefined ? undefined : Math.round((performance.now() - start) * 10) / 10,
        // Set by the auth macro: the user (seed 001 logs who made each request), never the token.
        user: (context as { principal?: Principal }).principal?.user,
      });
    });
};

/** The path of an absolute request URL, without parsing all of it. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const end = url.indexOf("?", start);
  return url.slice(start, end === -1 ? undefined : end);
}
