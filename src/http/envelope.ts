import { Elysia } from "elysia";
import type { HandlerCount } from "../shutdown";
import { runAgainWhenDecided } from "./deferred";
import { limitBody } from "./limits";
import type { RequestObserver } from "./request-observer";
import { SecuredJson } from "./secured-json";
import { secure } from "./security-headers";

type Handle = (request: Request) => unknown;

const successHeaders = Symbol("keyward.successHeaders");
type Carrying = Request & { [successHeaders]?: readonly (readonly [string, string])[] };

/**
 * Headers for this request's answer if it is a success (2xx), set by the envelope on the finished
 * response: for a check that knows them before the route answers (the no-store for a signed-in
 * session's answer). What goes in `set.headers` instead reaches Bun as a plain object, read property
 * by property, and an error raised after the check named them would carry them too. A route that
 * always answers with the same headers makes them once (see PerCredential).
 */
export function headersOnSuccess(request: Request, headers: readonly (readonly [string, string])[]): void {
  (request as Carrying)[successHeaders] = headers;
}

/**
 * The one wrap around every request, from its arrival to its answer. Everything that must see a
 * whole request is a step here rather than a wrap of its own, since Elysia builds each wrap's
 * function anew on every request (four wraps measured about 5% of GET /data's throughput):
 *
 * 1. counted as running, so that a stop waits for it (shutdown.ts);
 * 2. its body bounded (limits.ts);
 * 3. the route run, and run again once a credential decided later is known (deferred.ts):
 *    the placeholder answer of the first run is dropped, so the rest sees one answer;
 * 4. the security headers set on the answer (security-headers.ts) unless it was born with them
 *    (a hot route's SecuredJson), and a success's own headers (`headersOnSuccess`);
 * 5. the answer counted and logged (request-observer.ts).
 *
 * A good token on a hot route is answered synchronously all the way through: no promise, no
 * closure per request.
 */
export function requestEnvelope(observer: RequestObserver, handlers: HandlerCount) {
  const finish = (request: Carrying, response: Response, start: number): Response => {
    if (!(response instanceof SecuredJson)) secure(response.headers);
    const granted = request[successHeaders];
    if (granted !== undefined && response.ok) for (const [name, value] of granted) response.headers.set(name, value);
    observer.answered(request, response, start);
    handlers.exit();
    return response;
  };

  const settle = async (handle: Handle, request: Request, answer: unknown, start: number): Promise<Response> => {
    try {
      let response = (await answer) as Response;
      for (let again = runAgainWhenDecided(handle, request); again !== null; again = runAgainWhenDecided(handle, request)) {
        response = (await again) as Response;
      }
      return finish(request, response, start);
    } catch (error) {
      handlers.exit();
      throw error;
    }
  };

  const envelope =
    (handle: Handle) =>
    (request: Request): unknown => {
      const start = performance.now();
      handlers.enter();
      let answer: unknown;
      try {
        limitBody(request);
        answer = handle(request);
      } catch (error) {
        handlers.exit();
        throw error;
      }
      if (answer instanceof Promise) return settle(handle, request, answer, start);
      const again = runAgainWhenDecided(handle, request);
      return again === null ? finish(request, answer as Response, start) : settle(handle, request, again, start);
    };
  // Elysia calls a wrap on every request to make that request's handler: made once per route, the
  // handler is kept on the route's own function (about 2% of GET /data's throughput, paired).
  const enveloped = Symbol("keyward.enveloped");
  return new Elysia({ name: "keyward/envelope" }).use(observer.hooks).wrap((handle: Handle & { [enveloped]?: Handle }) => (handle[enveloped] ??= envelope(handle)));
}
