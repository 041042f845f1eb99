import { Elysia, t } from "elysia";
import { type Answering, decidedAtOnce, presented, presentedToken } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import type { ProofRequests } from "../../http/dpop";
import { ErrorBody, errorBody, serverFailure } from "../../http/errors";
import type { Logger } from "../../log";
import type { AuthCore } from "../auth/service";
import type { Principal } from "../tokens/verifier";
import { identityHeader } from "../../http/identity-header";
import { noteUser } from "../../http/request-observer";
import { PerCredential } from "../../http/per-credential";
import { SecuredJson, securedJsonHeaders, Serialized } from "../../http/secured-json";
import { domainCookies, originalUrl, signInUrl, wantsPage, type Portal } from "../portal/service";
import { checksAsked, queryDocumented } from "./checks";

export interface ForwardAuthDeps {
  core: AuthCore;
  addressOf: AddressOf;
  proofs: ProofRequests;
  allowQueryToken: boolean;
  log: Logger;
  /** The sign-in portal, if on: its session cookie passes, and a browser without a credential is sent to sign in. */
  portal: Portal | null;
}

/** The cookie a browser may carry the token in, for services behind a proxy. */
export const TOKEN_COOKIE = "keyward_token";

/**
 * The token a proxied request carries: its Authorization header, a `keyward_token` cookie, or
 * (where allowed) `?token=` in the original URL the proxy reports.
 */
function forwardedToken(request: Request, allowQuery: boolean): string | null {
  const direct = presentedToken(request, false);
  if (direct !== null) return direct;
  const cookie = request.headers.get("cookie")?.match(/(?:^|;\s*)keyward_token=([^;]+)/)?.[1];
  if (cookie) return decodedCookie(cookie);
  if (!allowQuery) return null;
  const original = request.headers.get("x-original-url") ?? request.headers.get("x-forwarded-uri");
  if (!original) return null;
  const query = original.indexOf("?");
  return query === -1 ? null : new URLSearchParams(original.slice(query + 1)).get("token");
}

/** A cookie value that is not valid percent-encoding is a bad token (401), not a crash. */
function decodedCookie(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return "";
  }
}

const SIGN_IN = errorBody("sign_in_required", "Sign in to continue");

/** Turns a 401 for a browser into a redirect to the sign-in page (no challenge: there is nothing to answer it with). */
function sendToSignIn<S>(set: { headers: Record<string, unknown> }, location: string, status: (code: 302, body: ErrorBody) => S): S {
  delete set.headers["www-authenticate"];
  set.headers.location = location;
  return status(302, SIGN_IN);
}

/**
 * What a forward-auth route's handler answers with (methods, so that the route's own `status`
 * fits). `signIn`, the same `status` on the route that declares its 302: a browser refused for
 * want of a credential is sent to sign in (302, which Caddy and Traefik hand on); without it the
 * browser gets the 401 itself, for nginx's `error_page 401` to act on.
 */
interface ProxyAnswering<S, R> {
  request: Request;
  set: { headers: Record<string, unknown> };
  status(code: 401 | 403, body: ErrorBody): S;
  signIn?(code: 302, body: ErrorBody): R;
}

const ForwardAuthOk = t.Object({ user: t.String(), role: t.String(), token_id: t.String() }, { title: "ForwardAuthOk" });
// Not withFailures: no 422, 429 or 5xx here, whatever happens (see the descriptions).
const answers = { 200: ForwardAuthOk, 401: ErrorBody, 403: ErrorBody };

const ANSWERS =
  "200 sets Remote-User, Remote-Groups (the role) and X-Keyward-Token-Id. Reads the token from Authorization, a keyward_token cookie, or ?token= in X-Original-URL / X-Forwarded-Uri; honours X-Forwarded-For from KEYWARD_TRUSTED_PROXIES. With KEYWARD_PUBLIC_URL set (the sign-in portal), a request with no token may pass with a keyward_session cookie (X-Keyward-Token-Id is then the session id). With ?role=, another role gets 403 insufficient_role; with ?scope=, a credential lacking any scope asked for gets 403 insufficient_scope (a session carries its account's scopes). A misspelt check (?roles=, ?Scope=, ?scope[]=) is 403 invalid_query, never read as no check. A device's key-bound main token passes as Authorization: DPoP with a DPoP proof naming the proxied method and URL, as the proxy forwards them (X-Forwarded-Method with -Proto, -Host and -Uri, or X-Original-Method with -URL; where both are sent they must agree); 401 dpop_required as Bearer, 401 invalid_dpop_proof for a wrong or reused proof.";
const NGINX_STATUSES =
  "Never 422, 429 or 5xx, since nginx auth_request turns any status but 2xx, 401 and 403 into a 500: a locked-out address gets 401 (code too_many_failures) with Retry-After, and an internal error or a busy database gets 403 (code internal_error or database_busy, the latter with Retry-After) — refused, without calling the token bad. A name outside printable ASCII is percent-encoded UTF-8 in its header (josé → jos%C3%A9); the JSON body has it as it is.";

/**
 * What nginx `auth_request`, Caddy `forward_auth` and Traefik `ForwardAuth` call before letting a
 * request through: 200 with Remote-User, Remote-Groups and X-Keyward-Token-Id, 401 with
 * WWW-Authenticate, 403 when the role is not one the service asked for or a scope it asked for is
 * missing. Never a 422, 429 or 5xx,
 * which nginx would turn into a 500 for the user. With the portal on, a browser's session cookie
 * passes too; /auth/forward sends a browser refused with a 401 to sign in (302), /auth/request
 * never redirects (nginx's own `error_page 401` does).
 */
export const forwardAuthRoutes = ({ core, addressOf, proofs, allowQueryToken, log, portal }: ForwardAuthDeps) => {
  // A request let through: the identity headers the proxy copies to the service, and the same in the body.
  const passes = new PerCredential(
    ({ user, role }) => `${role} ${user}`,
    ({ user, role, tokenId }) => ({
      body: new Serialized<typeof ForwardAuthOk.static>({ user, role, token_id: tokenId }),
      headers: securedJsonHeaders([
        ["remote-user", identityHeader(user)],
        ["remote-groups", identityHeader(role)],
        ["x-keyward-token-id", tokenId],
      ]),
    }),
  );
  const granted = (principal: Principal) => {
    const { body, headers } = passes.for(principal);
    return new SecuredJson(body, headers);
  };
  // The proxied request's credential, checked by each route's own handler rather than a macro (see
  // `anyToken` in http/auth.ts): a good token is answered with no promise on the way.
  const check = <S extends { code: unknown }, R = never>({ request, set, status, signIn }: ProxyAnswering<S, R>): { ok: true; principal: Principal } | { ok: false; answer: S | R } => {
    const asked = checksAsked(request.url);
    if (!asked.ok) return { ok: false, answer: status(403, asked.refusal) };
    const { scopes } = asked;
    const need = asked.roles.length > 0 ? asked.roles : "token";
    const token = forwardedToken(request, allowQueryToken);
    // A token presented is decided as ever; only a request with none is a browser's session.
    const cookies = portal === null || token !== null ? [] : domainCookies(request);
    const decide = () => {
      if (cookies.length > 0) return core.session(cookies, () => addressOf(request), need, "domain", scopes);
      const presenting = presented(request, addressOf, token, need, proofs.forwarded);
      if (scopes !== undefined) presenting.scopes = scopes;
      return core.token(presenting);
    };
    try {
      // A proxy is never told 429 (see Audience): 401 and 403 suffice.
      const decided = decidedAtOnce({ request, set, status: status as Answering<S>["status"], audience: "proxy" }, decide);
      if (decided.ok) {
        noteUser(request, decided.principal);
        return decided;
      }
      // Caddy and Traefik hand a 302 to the browser, which follows it to the sign-in page; a
      // script still gets its 401. So does nginx (its auth_request, which the README's older
      // snippet marks with X-Original-URL, would turn a 302 into a 500).
      const toSignIn = signIn !== undefined && decided.answer.code === 401 && portal !== null && wantsPage(request) && !request.headers.has("x-original-url");
      return { ok: false, answer: toSignIn ? sendToSignIn(set, signInUrl(portal, originalUrl(request.headers)), signIn) : decided.answer };
    } catch (error) {
      // Undecided is not let in, said as 403: the token was not found bad, so a client that
      // drops its token on a 401 keeps it through a busy moment.
      const failure = serverFailure(log, request, error);
      Object.assign(set.headers, failure.headers);
      return { ok: false, answer: status(403, failure.body) };
    }
  };
  return new Elysia({ name: "keyward/forward-auth", detail: { tags: ["Forward auth"] } })
    .all(
      "/auth/forward",
      ({ request, set, status }) => {
        const who = check({ request, set, status, signIn: status });
        return who.ok ? granted(who.principal) : who.answer;
      },
      {
        response: { ...answers, 302: ErrorBody },
        detail: {
          summary: "Forward auth for reverse proxies",
          description: `${ANSWERS} A browser's request (Accept includes text/html) that would get 401 gets 302 to the sign-in page instead, with the original URL from X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri as \`rd\` — unless it carries X-Original-URL, as nginx's auth_request does. ${NGINX_STATUSES}`,
          security: [{ bearer: [] }],
          parameters: queryDocumented,
        },
      },
    )
    .all(
      "/auth/request",
      ({ request, set, status }) => {
        const who = check({ request, set, status });
        return who.ok ? granted(who.principal) : who.answer;
      },
      {
        response: answers,
        detail: {
          summary: "Forward auth for nginx auth_request, never a redirect",
          description: `The same decision as /auth/forward, answered only with 200, 401 or 403: a browser without a valid credential gets 401 like a script, and nginx's \`error_page 401\` sends it to the sign-in page (see the README). ${ANSWERS} ${NGINX_STATUSES}`,
          security: [{ bearer: [] }],
          parameters: queryDocumented,
        },
      },
    );
};
