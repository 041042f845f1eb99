import { presentedToken, retryAfter } from "../../http/auth";
import type { Refusal } from "../auth/model";
import type { IntrospectBody, OAuthError } from "./model";

/** How the caller (the OAuth "client") authenticated: RFC 6749 §2.3.1's two ways, or a Bearer token. */
export type ClientMethod = "client_secret_basic" | "client_secret_post" | "bearer";

/**
 * The caller's credential: the secret for the core to decide (null when none was sent) and the
 * client id it must belong to, or why the request is malformed.
 */
export type ClientCredential =
  | { ok: true; method: ClientMethod | null; secret: string | null; clientId: string | null }
  | { ok: false; problem: RequestProblem };

/** A request this endpoint cannot read, whoever sends it. */
export interface RequestProblem {
  reason: "invalid_request";
  description: string;
}

const problem = (description: string): RequestProblem => ({ reason: "invalid_request", description });

const basicScheme = /^basic(\s|$)/i;
const basic = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** `application/x-www-form-urlencoded` decoding, which RFC 6749 §2.3.1 applies to both halves. */
const formDecode = (text: string) => decodeURIComponent(text.replaceAll("+", " "));

function decodeBasic(encoded: string): { clientId: string; secret: string } | null {
  try {
    const text = utf8.decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
    const colon = text.indexOf(":");
    return colon === -1 ? null : { clientId: formDecode(text.slice(0, colon)), secret: formDecode(text.slice(colon + 1)) };
  } catch {
    return null;
  }
}

/**
 * `Authorization: Basic base64(id:secret)`. A header that says Basic but cannot be decoded is an
 * empty secret, which the core refuses and counts, as it does a broken Bearer header.
 */
function basicCredential(header: string | null): { clientId: string; secret: string } | null {
  if (header === null || !basicScheme.test(header)) return null;
  const encoded = basic.exec(header)?.[1];
  return (encoded === undefined ? null : decodeBasic(encoded)) ?? { clientId: "", secret: "" };
}

/**
 * Reads the one client authentication a request may use (RFC 6749 §2.3: never more than one).
 * A `client_id` field beside Basic or Bearer is allowed, but must name the same token.
 */
export function clientCredential(request: Request, body: IntrospectBody, allowQueryToken: boolean): ClientCredential {
  const bearer = presentedToken(request, allowQueryToken);
  const fromHeader = basicCredential(request.headers.get("authorization"));
  const posted = body.client_secret;
  const used = ([bearer !== null && "bearer", fromHeader !== null && "client_secret_basic", posted !== undefined && "client_secret_post"] as const).filter((m) => m !== false);
  if (used.length > 1) return { ok: false, problem: problem(`One client authentication per request, not ${used.join(" and ")}`) };
  if (fromHeader !== null && body.client_id !== undefined && body.client_id !== fromHeader.clientId) {
    return { ok: false, problem: problem("The client_id field differs from the one in the Authorization header") };
  }
  if (posted !== undefined && body.client_id === undefined) return { ok: false, problem: problem("client_secret needs its client_id") };
  const clientId = fromHeader?.clientId ?? body.client_id ?? null;
  return { ok: true, method: used[0] ?? null, secret: fromHeader?.secret ?? posted ?? bearer, clientId };
}

export interface OAuthAnswer {
  status: 400 | 401 | 403 | 429;
  body: OAuthError;
  headers: Record<string, string>;
}

const oauthError = (error: OAuthError["error"], description: string): OAuthError => ({ error, error_description: description });

/**
 * RFC 6749 §5.2: a 401 names the scheme the client used, or, when it used none, the one to use.
 * Form fields are no HTTP scheme, so their refusal has no challenge: a client library then reports
 * the body's `invalid_client` rather than a challenge.
 */
const challenge = (method: ClientMethod | null): Record<string, string> =>
  method === "client_secret_post" ? {} : { "www-authenticate": `${method === "bearer" ? "Bearer" : "Basic"} realm="keyward"` };

/** Every way this endpoint says no, in the OAuth shape: the core's refusals and the route's own. */
export function oauthAnswer(failure: Refusal | RequestProblem, method: ClientMethod | null): OAuthAnswer {
  switch (failure.reason) {
    case "invalid_request":
      return { status: 400, body: oauthError("invalid_request", failure.description), headers: {} };
    case "insufficient_role":
      return { status: 403, body: oauthError("insufficient_scope", `Introspection needs the ${(failure.roles ?? []).join(" or ")} role`), headers: {} };
    case "locked_out":
    case "rate_limited": {
      const headers = retryAfter(failure);
      const why = failure.rateLimit === undefined ? "Too many failed attempts" : "This token's rate limit is reached";
      return { status: 429, body: oauthError("temporarily_unavailable", `${why}; try again in ${headers["retry-after"]} seconds`), headers };
    }
    case "quota_exhausted": {
      // The client's own token has no uses left: not a bad credential, and a refill may bring more.
      const headers: Record<string, string> = failure.retryAfterMs === undefined ? {} : retryAfter(failure);
      return { status: 429, body: oauthError("temporarily_unavailable", "This token has no uses left"), headers };
    }
    case "missing":
      return { status: 401, body: oauthError("invalid_client", "No client authentication: send the token id and token with HTTP Basic, as client_id and client_secret, or the token as Bearer"), headers: challenge(method) };
    case "ip_not_allowed":
      return { status: 401, body: oauthError("invalid_client", `This token may not be used from ${failure.ip}`), headers: challenge(method) };
    default:
      return { status: 401, body: oauthError("invalid_client", "Client authentication failed"), headers: challenge(method) };
  }
}
