import { Elysia, type Context } from "elysia";
import { ADMIN_ONLY, type AuthCore } from "../modules/auth/service";
import type { Decision, Need, Presented, Reason, Refusal } from "../modules/auth/model";
import type { Actor } from "../modules/tokens/service";
import type { RateLimit } from "../modules/tokens/limits";
import type { Principal } from "../modules/tokens/verifier";
import type { AddressOf } from "./client-address";
import { decideOnce, DEFERRED } from "./deferred";
import { headersOnSuccess } from "./envelope";
import { errorBody, type ErrorBody } from "./errors";
import { whenSettled } from "../lib/settled";
import { DPOP_ALGORITHMS, type ProofRequest } from "../modules/auth/dpop";
import type { ProofRequests } from "./dpop";
import { apiConsoleCookie, type Portal } from "../modules/portal/service";
import { noteUser } from "./request-observer";

const bearer = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const bearerScheme = /^bearer(\s|$)/i;
/** RFC 9449 §7.1: only a device's main token (a JWT) may be key-bound, so only a JWT is taken as DPoP. */
const dpop = /^dpop +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i;
const dpopScheme = /^dpop(\s|$)/i;

/**
 * Finds the presented token: the Authorization header (Bearer, or DPoP for a key-bound device
 * token), else `?token=` when allowed. A header that names either scheme but is malformed is an
 * answer in itself (an empty token), so a broken header is never silently replaced by a query
 * parameter. Whether it came as DPoP the core asks the request itself (see ProofRequest).
 */
export function presentedToken(request: Request, allowQuery: boolean): string | null {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const wellFormed = bearer.exec(header);
    if (wellFormed !== null) return wellFormed[1]!;
    if (bearerScheme.test(header)) return "";
    const bound = dpop.exec(header);
    if (bound !== null) return bound[1]!;
    if (dpopScheme.test(header)) return "";
  }
  if (!allowQuery) return null;
  const url = request.url;
  const query = url.indexOf("?");
  if (query === -1 || !url.includes("token=", query)) return null;
  return new URLSearchParams(url.slice(query + 1)).get("token");
}

export const INVALID_TOKEN = errorBody("invalid_token", "Invalid or expired authentication token");
const EXPIRED_TOKEN = errorBody("token_expired", "The token has expired");
const INVALID_CREDENTIALS = errorBody("invalid_credentials", "Invalid credentials");
const FINGERPRINT_MISMATCH = errorBody("fingerprint_mismatch", "The hardware fingerprint does not match the one bound in the token");

export interface Answer {
  status: 401 | 403 | 429;
  body: ErrorBody;
  headers: Record<string, string>;
}

const challenge = { "www-authenticate": 'Bearer realm="keyward", error="invalid_token"' };
export const DPOP_ALGS = `algs="${DPOP_ALGORITHMS.join(" ")}"`;
/** When a locked-out or rate-limited caller may try again, as a `Retry-After` header (at least a second). */
export const retryAfter = (refusal: Refusal) => ({ "retry-after": String(Math.max(1, Math.ceil((refusal.retryAfterMs ?? 0) / 1000))) });
const badToken = (invalid: ErrorBody) => ({ status: 401 as const, body: invalid, headers: challenge });

/** Every refusal reason of the core, as HTTP. `invalid` is how a route words a bad token. */
const answers: Record<Reason, (refusal: Refusal, invalid: ErrorBody) => Answer> = {
  missing: (_, invalid) => ({ status: 401, body: invalid, headers: { "www-authenticate": 'Bearer realm="keyward"' } }),
  malformed: (_, invalid) => badToken(invalid),
  unknown: (_, invalid) => badToken(invalid),
  revoked: (_, invalid) => badToken(invalid),
  disabled: (_, invalid) => badToken(invalid),
  // A device client tells an expired token from a bad one; API clients never did.
  expired: (refusal, invalid) => badToken(refusal.credential === "token" ? invalid : EXPIRED_TOKEN),
  invalid_credentials: () => ({ status: 401, body: INVALID_CREDENTIALS, headers: {} }),
  ip_not_allowed: (refusal) => ({ status: 403, body: errorBody("ip_not_allowed", `This token may not be used from ${refusal.ip}`), headers: {} }),
  fingerprint_mismatch: () => ({ status: 403, body: FINGERPRINT_MISMATCH, headers: {} }),
  // RFC 9449 §7.1: the DPoP challenge; the problem, which may quote a header, stays in the body.
  dpop_required: (refusal) => ({
    status: 401,
    body: errorBody("dpop_required", refusal.problem ?? "A DPoP proof is required"),
    headers: { "www-authenticate": `DPoP realm="keyward", error="invalid_token", ${DPOP_ALGS}` },
  }),
  invalid_dpop_proof: (refusal) => ({
    status: 401,
    body: errorBody("invalid_dpop_proof", refusal.problem ?? "The DPoP proof is not valid"),
    headers: { "www-authenticate": `DPoP realm="keyward", error="invalid_dpop_proof", ${DPOP_ALGS}` },
  }),
  insufficient_role: (refusal) => ({
    status: 403,
    body: errorBody("insufficient_role", `This needs the ${(refusal.roles ?? []).join(" or ")} role`),
    headers: {},
  }),
  // RFC 6750 §3.1: a bearer token lacking a scope is told which, in the challenge as in the body.
  insufficient_scope: (refusal) => {
    const scopes = (refusal.scopes ?? []).join(" ");
    const headers: Record<string, string> = refusal.credential === "session" ? {} : { "www-authenticate": `Bearer realm="keyward", error="insufficient_scope", scope="${scopes}"` };
    return { status: 403, body: errorBody("insufficient_scope", `This needs the scope${refusal.scopes?.length === 1 ? "" : "s"} ${scopes}`), headers };
  },
  enrollment_refused: () => ({ status: 403, body: errorBody("enrollment_refused", "This device may not enroll now"), headers: {} }),
  locked_out: (refusal) => {
    const headers = retryAfter(refusal);
    return { status: 429, body: errorBody("too_many_failures", `Too many failed attempts; try again in ${headers["retry-after"]} seconds`), headers };
  },
  rate_limited: (refusal) => {
    const headers = refusal.rateLimit === undefined ? retryAfter(refusal) : rateLimitHeaders(refusal, refusal.rateLimit);
    const whose = refusal.credential === "token" ? "with this token" : "from this address";
    return { status: 429, body: errorBody("rate_limited", `Too many requests ${whose}; try again in ${headers["retry-after"]} seconds`), headers };
  },
  quota_exhausted: (refusal) => {
    if (refusal.retryAfterMs === undefined) return { status: 429, body: errorBody("quota_exhausted", "This token has no uses left"), headers: {} };
    const headers = retryAfter(refusal);
    return { status: 429, body: errorBody("quota_exhausted", `This token has no uses left until its refill in ${headers["retry-after"]} seconds`), headers };
  },
};

/**
 * A token's rate limit, told as draft-ietf-httpapi-ratelimit-headers-10: the policy (§3: quota
 * `q`, window `w` in seconds) and what is left of it (§4: remaining `r`, none when refused, and
 * `t`, the seconds until the window ends). Retry-After names the same moment (§6).
 */
function rateLimitHeaders(refusal: Refusal, limit: RateLimit): Record<string, string> {
  const headers = retryAfter(refusal);
  return {
    ...headers,
    "ratelimit-policy": `"default";q=${limit.requests};w=${Math.ceil(limit.perMs / 1000)}`,
    ratelimit: `"default";r=0;t=${headers["retry-after"]}`,
  };
}

/**
 * Who hears a refusal: the client itself, or a reverse proxy asking on its behalf. nginx
 * `auth_request` passes on only 2xx, 401 and 403 and turns anything else into a 500, so to a proxy
 * a "not now" (429) is said as "not let in" (401), with the same body and Retry-After.
 */
export type Audience = "client" | "proxy";

function answerFor(refusal: Refusal, invalid: ErrorBody = INVALID_TOKEN, audience: Audience = "client"): Answer {
  const answer = answers[refusal.reason](refusal, invalid);
  if (audience === "client" || answer.status !== 429) return answer;
  return { status: 401, body: answer.body, headers: { ...answer.headers, "www-authenticate": 'Bearer realm="keyward"' } };
}

export interface Answering<S> {
  set: { headers: Record<string, unknown> };
  // A method, so that a route whose schema lists only the statuses it can meet still fits.
  status(code: Answer["status"], body: ErrorBody): S;
  /** The client by default. */
  audience?: Audience;
}

/** Answers a refusal in a handler: `return refuse({ set, status }, refusal)`. */
export function refuse<S>({ set, status, audience }: Answering<S>, refusal: Refusal, invalid?: ErrorBody): S {
  const answer = answerFor(refusal, invalid, audience);
  Object.assign(set.headers, answer.headers);
  return status(answer.status, answer.body);
}

const NOT_STORED = [["cache-control", "no-store"]] as const;

const DECIDING = errorBody("deciding", "The credential is still being checked");

/**
 * For a hot route's handler, which Elysia does not await (see deferred.ts): the core's decision on this request
 * (`decide` runs once per request, even when the route runs again for a deferred one), or the
 * answer to give instead: a refusal, or the placeholder of a decision still being made.
 */
export function decidedAtOnce<T extends object, S>(
  answering: Answering<S> & { request: Request },
  decide: (request: Request) => Decision<T> | Promise<Decision<T>>,
): ({ ok: true } & T) | { ok: false; answer: S } {
  const decision = decideOnce(answering.request, decide);
  // Never sent: the envelope drops it and runs the route again (so no route declares a 503).
  if (decision === DEFERRED) return { ok: false, answer: (answering.status as (code: number, body: ErrorBody) => S)(503, DECIDING) };
  if (!decision.ok) return { ok: false, answer: refuse(answering, decision) };
  return decision;
}

/** What an admin route receives from the auth macro (a type, not an interface: Elysia needs an object type with an index signature). */
type Authenticated = {
  principal: Principal;
  /** Who is asking, for the audit log of a change (the address is looked up only when this is called). */
  actor(): Actor;
};

export interface AuthPluginDeps {
  core: AuthCore;
  addressOf: AddressOf;
  proofs: ProofRequests;
  allowQueryToken: boolean;
  /** The sign-in portal, if on: a browser signed in there reaches the API with its console cookie. */
  portal: Portal | null;
}

/**
 * What a request presents to the core: the token, and the address, hardware fingerprint and DPoP
 * proof, read only if the core asks (a good API token needs none). Without `proofs`, a device's
 * main token is not accepted: neither a fingerprint nor a proof is offered with it.
 */
export function presented(request: Request, addressOf: AddressOf, token: string | null, need: Need, proofs?: (request: Request) => ProofRequest): Presented {
  const address = () => addressOf(request);
  // Only a JWT, a device's main token, is asked for a fingerprint or a proof: a token without a dot needs neither.
  if (proofs === undefined || token === null || !token.includes(".")) return { token, need, address };
  return { token, need, address, fingerprint: () => request.headers.get("x-hardware-fingerprint"), dpop: () => proofs(request) };
}

/**
 * The credential a request to Keyward's own API presents, decided: a token when there is one;
 * with none, a browser signed in at the portal (the admin page, say) is its session, by the
 * cookie only Keyward's own host receives. An admitted one is named in the access log, and the
 * answer to a session's request is kept out of shared caches (which hold back an answer to a
 * request with Authorization, but not to one with a cookie).
 */
export function ownApiCredentials({ core, addressOf, proofs, allowQueryToken, portal }: AuthPluginDeps) {
  const decide = (request: Request, need: Need) => {
    const token = presentedToken(request, allowQueryToken);
    const cookies = token === null && portal !== null ? apiConsoleCookie(portal, request) : [];
    if (cookies.length > 0) return core.session(cookies, () => addressOf(request), need, "console");
    return core.token(presented(request, addressOf, token, need, proofs.self));
  };
  const admit = (request: Request, principal: Principal): void => {
    noteUser(request, principal);
    if (principal.source === "session") headersOnSuccess(request, NOT_STORED);
  };
  const security: Record<string, string[]>[] = [
    { bearer: [] },
    ...(allowQueryToken ? [{ queryToken: [] }] : []),
    { bearer: [], hardwareFingerprint: [] },
    { dpop: [] },
    ...(portal === null ? [] : [{ consoleCookie: [] }]),
  ];
  return { decide, admit, security, addressOf };
}

/** Made once per app, for both the admin macro and the hot routes' check. */
export type OwnApiCredentials = ReturnType<typeof ownApiCredentials>;

/**
 * The `auth` macro, `{ auth: "admin" }` on a route: the route gets the principal and its actor,
 * and a refusal is answered before the handler runs. (Elysia runs a macro only for a primitive
 * value, so a route needing other roles calls the core itself.) Admin routes read bodies, which a
 * deferred decision could not read twice: their check is awaited.
 */
export const authentication = ({ decide, admit, security, addressOf }: OwnApiCredentials) => {
  return new Elysia({ name: "keyward/auth" }).macro({
    auth: (_: "admin") => ({
      detail: { security },
      // Read by Elysia as asynchronous (it returns what a call returns), so awaited.
      resolve({ request, set, status }: Pick<Context, "request" | "set" | "status">) {
        const answer = (decision: Decision) => {
          if (!decision.ok) return refuse({ set, status }, decision);
          const { principal } = decision;
          admit(request, principal);
          return { principal, actor: () => ({ name: principal.user, tokenId: principal.tokenId, ip: addressOf(request) }) } satisfies Authenticated;
        };
        return whenSettled(decide(request, ADMIN_ONLY), answer);
      },
    }),
  });
};

/**
 * Any token (or console session), checked by a hot route's own handler, which Elysia must read as
 * synchronous (no `return f(…)`, no "async" or "await" in its text; test/http/hot-path.test.ts
 * holds it):
 *
 *     ({ request, set, status }) => {
 *       const who = anyToken.check({ request, set, status });
 *       return who.ok ? new SecuredJson(…who.principal…) : who.answer;
 *     }
 *
 * and its OpenAPI `security` from here. Not a macro: Elysia runs a route with a resolve hook through
 * its general lifecycle (the context extended with what the hook returns, the answer mapped with
 * the hook's headers), about 4% of GET /data's throughput, paired (bench/gap.md). A good token is
 * answered with no promise on the way; a credential decided later (a device's JWT) runs the route
 * again (deferred.ts).
 */
export const anyToken = ({ decide, admit, security }: OwnApiCredentials) => {
  const anyOf = (request: Request) => decide(request, "token");
  return {
    security,
    check<S>(answering: Answering<S> & { request: Request }) {
      const decided = decidedAtOnce(answering, anyOf);
      if (decided.ok) admit(answering.request, decided.principal);
      return decided;
    },
  };
};

export type AnyToken = ReturnType<typeof anyToken>;
