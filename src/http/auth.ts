import { Elysia } from "elysia";
import type { Cidr } from "../lib/cidr";
import { ADMIN_ROLE } from "../lib/names";
import type { AuditQueue } from "../modules/audit/service";
import type { UsageTracker } from "../modules/tokens/usage";
import type { Principal, TokenVerifier } from "../modules/tokens/verifier";
import { clientIp } from "./client-ip";
import { errorBody } from "./errors";

export interface AuthDeps {
  verifier: TokenVerifier;
  usage: UsageTracker;
  audit: AuditQueue;
  allowQueryToken: boolean;
  trustedProxies: readonly Cidr[];
}

/** Who may call a route: anyone holding a valid token, or only an admin. */
export type Need = "token" | "admin";

const bearer = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/**
 * Finds the presented token: the Authorization header, else `?token=` when allowed.
 * A header that says Bearer but is malformed is an answer in itself (an empty token), so a
 * broken header is never silently replaced by a query parameter.
 */
export function presentedToken(request: Request, allowQuery: boolean): string | null {
  const header = request.headers.get("authorization");
  if (header !== null && /^bearer(\s|$)/i.test(header)) return bearer.exec(header)?.[1] ?? "";
  if (!allowQuery) return null;
  const url = request.url;
  const query = url.indexOf("?");
  if (query === -1 || !url.includes("token=", query)) return null;
  return new URLSearchParams(url.slice(query + 1)).get("token");
}

const unauthorized = errorBody("invalid_token", "Invalid or expired authentication token");

/** What a route receives from the auth macro. */
export interface Authenticated {
  principal: Principal;
  ip: string;
}

/**
 * The `auth` macro: `{ auth: "token" }` or `{ auth: "admin" }` on a route. It answers 401 (with
 * WWW-Authenticate) for a missing, unknown, expired or revoked token, 403 for a token used from an
 * address outside its allowed ranges or without the role, and counts the use of a good one.
 */
export const authentication = (deps: AuthDeps) =>
  new Elysia({ name: "keyward/auth" }).macro({
    auth: (need: Need) => ({
      detail: { security: [{ bearer: [] }, ...(deps.allowQueryToken ? [{ queryToken: [] }] : [])] },
      resolve({ request, server, set, status }) {
        const ip = clientIp(request, server, deps.trustedProxies);
        const token = presentedToken(request, deps.allowQueryToken);
        if (token === null) {
          set.headers["www-authenticate"] = 'Bearer realm="keyward"';
          return status(401, unauthorized);
        }
        const result = deps.verifier.verify(token, ip);
        if (!result.ok) {
          deps.audit.push({ action: "auth.failed", ip, tokenId: result.tokenId, user: result.user, detail: result.reason });
          if (result.reason === "ip_not_allowed") {
            return status(403, errorBody("ip_not_allowed", `This token may not be used from ${ip}`));
          }
          set.headers["www-authenticate"] = 'Bearer realm="keyward", error="invalid_token"';
          return status(401, unauthorized);
        }
        const { principal } = result;
        if (need === "admin" && principal.role !== ADMIN_ROLE) {
          deps.audit.push({ action: "auth.failed", ip, tokenId: principal.tokenId, user: principal.user, detail: "not admin" });
          return status(403, errorBody("insufficient_role", "This needs the admin role"));
        }
        deps.usage.record(principal.tokenId, ip);
        return { principal, ip } satisfies Authenticated;
      },
    }),
  });
