import { Elysia } from "elysia";
import type { Db } from "../../db/client";
import { presented } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { ParseRefusal, withFailures } from "../../http/errors";
import { ADMIN_ROLE } from "../../lib/names";
import type { AuthCore } from "../auth/service";
import type { Principal } from "../tokens/verifier";
import { remainingUses } from "../tokens/quota";
import { clientCredential, oauthAnswer, type OAuthAnswer } from "./client";
import { Introspection, IntrospectBody, OAuthError } from "./model";

/** RFC 7662's space-separated `scope`: the role, as before scopes existed, then the token's own. */
const scopeOf = ({ role, scopes }: Principal) => [role, ...scopes.filter((scope) => scope !== role)].join(" ");

const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? undefined : Math.floor(ms / 1000));

/**
 * The form, read whatever the Content-Type says (RFC 7662 allows only a form). A parameter sent
 * twice is refused (RFC 6749 §3.2), and so is a body over the size limit, both in the OAuth shape.
 */
async function readForm({ request }: { request: Request }): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await request.text();
  } catch (error) {
    if (error instanceof ParseRefusal) throw new ParseRefusal(error.status, { error: "invalid_request", error_description: error.body.error });
    throw error;
  }
  const form: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(form, name)) throw new ParseRefusal(400, { error: "invalid_request", error_description: `The ${name} parameter is sent more than once` });
    form[name] = value;
  }
  return form;
}

export interface IntrospectionDeps {
  core: AuthCore;
  addressOf: AddressOf;
  allowQueryToken: boolean;
  /** Besides admin, the role a resource server's token has to introspect (KEYWARD_INTROSPECT_ROLE). */
  role: string;
  /** Where a token's uses left are read. */
  db: Db;
  now: () => number;
}

/**
 * RFC 7662 token introspection, for resource servers: any API, login or device token (main or
 * short) in, `{"active": true, …}` or only `{"active": false}` out, never a reason why not. The
 * caller is an OAuth client whose id is its token's id and whose secret is the token.
 */
export const introspectionRoutes = ({ core, addressOf, allowQueryToken, role, db, now }: IntrospectionDeps) =>
  new Elysia({ name: "keyward/introspection", detail: { tags: ["Forward auth"] } }).post(
    "/oauth/introspect",
    async ({ body, request, set, status }) => {
      const refuse = ({ status: code, body: error, headers }: OAuthAnswer) => {
        Object.assign(set.headers, headers);
        return status(code, error);
      };
      const client = clientCredential(request, body, allowQueryToken);
      if (!client.ok) return refuse(oauthAnswer(client.problem, null));
      const token = body.token?.trim();
      if (!token) return refuse(oauthAnswer({ reason: "invalid_request", description: "The form needs a token parameter" }, client.method));
      const caller = await core.token({ ...presented(request, addressOf, client.secret, [ADMIN_ROLE, role]), clientId: client.clientId });
      if (!caller.ok) return refuse(oauthAnswer(caller, client.method));
      const decision = await core.introspect(token, addressOf(request));
      if (!decision.ok) return refuse(oauthAnswer(decision, client.method));
      const { subject } = decision;
      if (subject === null) return { active: false };
      if (subject.kind === "token") {
        const p = subject.principal;
        // Looked at, not spent. A token with no uses left is refused wherever it is presented, so
        // it is not active (RFC 7662 §2.2) until a refill gives it more.
        const uses = subject.limits?.quota ? await remainingUses(db, p.tokenId, now()) : null;
        if (uses === 0) return { active: false };
        const remaining = uses === null ? {} : { remaining_uses: uses };
        return { active: true, sub: p.user, username: p.user, scope: scopeOf(p), exp: seconds(p.expiresAt?.getTime()), iat: seconds(p.issuedAt.getTime()), token_type: p.source, client_id: p.tokenId, ...remaining };
      }
      return {
        active: true,
        sub: subject.device.id,
        username: subject.device.label ?? subject.device.id,
        scope: "device",
        exp: seconds(subject.token.expiresAt.getTime()),
        iat: seconds(subject.token.issuedAt.getTime()),
        token_type: "device" as const,
        client_id: subject.token.id,
        ...(subject.device.keyThumbprint === null ? {} : { cnf: { jkt: subject.device.keyThumbprint } }),
      };
    },
    {
      // readForm always answers, so "urlencoded" never runs: it tells the OpenAPI page the body is a form.
      parse: [readForm, "urlencoded"],
      body: IntrospectBody,
      response: withFailures({ 200: Introspection, 400: OAuthError, 401: OAuthError, 403: OAuthError, 413: OAuthError, 429: OAuthError }),
      detail: {
        summary: "Token introspection (RFC 7662)",
        security: [{ clientSecretBasic: [] }, { bearer: [] }, {}],
        description: [
          "Form `token=…` (optional `token_type_hint`, ignored). The caller is an OAuth client: its client id is a token's id (`tok_…`), its secret that token, which must be an admin token or have the role KEYWARD_INTROSPECT_ROLE (default resource-server).",
          "It authenticates in exactly one way: `client_secret_basic` (`Authorization: Basic base64(urlencode(id):urlencode(token))`, as `curl -u \"$TOKEN_ID:$TOKEN\"` sends it), `client_secret_post` (`client_id` and `client_secret` form fields), or `Authorization: Bearer <token>`. Two ways at once are `invalid_request`.",
          'Errors are OAuth\'s (RFC 6749 §5.2), not Keyward\'s usual shape: `{"error": "invalid_client", "error_description": "…"}`. 400 `invalid_request`: no token, a parameter twice, two authentications; 401 `invalid_client` with `WWW-Authenticate: Basic realm="keyward"` (Bearer when a Bearer token was sent): no, a wrong or a mismatched client credential; 403 `insufficient_scope`: the caller lacks the role; 429 `temporarily_unavailable` with `Retry-After`: the caller\'s address is locked out.',
          "An inactive subject that is not Keyward-shaped counts as a failed guess against the caller's address.",
        ].join("\n\n"),
      },
    },
  );
