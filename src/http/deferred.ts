/**
 * Credentials decided later, for the hot routes' handlers. Elysia decides whether to await a
 * handler by reading its source: one that reads as asynchronous (a `return f(…)`, the word
 * async or await) makes its route answer through a promise and a turn of the event loop (4–20% of
 * GET /data's throughput, measured on the benchmark VM), while one that reads as synchronous but
 * returns a promise would have the promise taken for its answer. So a hot route's handler reads as
 * synchronous (test/http/hot-path.test.ts holds it) and never returns a promise: almost every
 * credential is decided at once, and the rare one that is not (a device's JWT, checked by signature
 * the first time it is seen) is deferred here.
 */

const pending = Symbol("keyward.pendingDecision");
const settled = Symbol("keyward.settledDecision");
type Outcome = { value: unknown } | { error: unknown };
type Deferring = Request & { [pending]?: Promise<unknown>; [settled]?: Outcome };

/** What `decideOnce` gives a synchronous handler whose decision is not known yet: answer a placeholder. */
export const DEFERRED = Symbol("keyward.deferred");

/**
 * A decision a synchronous handler can make: almost every credential is decided at once, but a
 * device's is checked by signature, asynchronously, the first time it is seen. Then the pending
 * decision is noted on the request and DEFERRED returned; the envelope waits for it and
 * runs the route again, and this call then returns the decision, made once. Only for routes that
 * read no body, as the second run must find the request as the first did.
 */
export function decideOnce<D>(request: Request, decide: (request: Request) => D | Promise<D>): D | typeof DEFERRED {
  const known = (request as Deferring)[settled];
  if (known !== undefined) {
    if ("error" in known) throw known.error;
    return known.value as D;
  }
  const decision = decide(request);
  if (!(decision instanceof Promise)) return decision;
  (request as Deferring)[pending] = decision;
  return DEFERRED;
}

/**
 * For the envelope (envelope.ts), once a route has answered: when `decideOnce` deferred a
 * decision during that run, the answer was a placeholder. Then this waits for the decision and
 * runs the route again, which finds it made; otherwise the answer stands (null: nothing pending).
 */
export function runAgainWhenDecided<R>(handle: (request: Request) => R, request: Request): Promise<R> | null {
  const waiting = (request as Deferring)[pending];
  if (waiting === undefined) return null;
  (request as Deferring)[pending] = undefined;
  return waiting.then(
    (value) => ((request as Deferring)[settled] = { value }),
    (error: unknown) => ((request as Deferring)[settled] = { error }),
  ).then(() => handle(request));
}
