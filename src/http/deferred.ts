/**
 * A resolve hook whose awaiting is decided here. Elysia decides whether to await a hook by reading
 * its source, and a hook that returns what another function returns reads as asynchronous:
 * awaited on every request, it makes its whole route answer through a promise and a turn of the
 * event loop (4–20% of GET /data's throughput, measured on the benchmark VM), while a hook that reads as
 * synchronous but returns a promise would be taken for its answer. Given as Elysia's own hook
 * container, `isAsync` says it outright. test/http/hot-path.test.ts fails if a new Elysia stops
 * honouring it. A hook not awaited must never return a promise: see `decideOnce`.
 */
export function resolveHook<F extends (...args: never[]) => unknown>(fn: F, { awaited }: { awaited: boolean }): F {
  return { fn, subType: "resolve", isAsync: awaited } as unknown as F;
}

const pending = Symbol("keyward.pendingDecision");
const settled = Symbol("keyward.settledDecision");
type Outcome = { value: unknown } | { error: unknown };
type Deferring = Request & { [pending]?: Promise<unknown>; [settled]?: Outcome };

/** What `decideOnce` gives a synchronous hook whose decision is not known yet: answer a placeholder. */
export const DEFERRED = Symbol("keyward.deferred");

/**
 * A decision a synchronous hook can make: almost every credential is decided at once, but a
 * device's is checked by signature, asynchronously, the first time it is seen. Then the pending
 * decision is noted on the request and DEFERRED returned; the envelope waits for it and
 * runs the route again, and this call then returns the decision, made once. Only for routes that
 * read no body, as the second run must find the request as the first did.
 */
export function decideOnce<D>(request: Request, decide: () => D | Promise<D>): D | typeof DEFERRED {
  const known = (request as Deferring)[settled];
  if (known !== undefined) {
    if ("error" in known) throw known.error;
    return known.value as D;
  }
  const decision = decide();
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
