import { Elysia } from "elysia";
import type { Cidr } from "../lib/cidr";
import type { Principal } from "../modules/tokens/verifier";
import type { Authenticate, Need } from "./authenticate";
import { clientIp } from "./client-ip";

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

/** What a route receives from the auth macro. */
export interface Authenticated {
  principal: Principal;
  ip: string;
}

export interface AuthPluginDeps {
  authenticate: Authenticate;
  allowQueryToken: boolean;
  trustedProxies: readonly Cidr[];
}

/**
 * The `auth` macro: `{ auth: "token" }` or `{ auth: "admin" }` on a route. The route gets the
 * principal and the client address; a refusal is answered before the handler runs.
 */
export const authentication = ({ authenticate, allowQueryToken, trustedProxies }: AuthPluginDeps) =>
  new Elysia({ name: "keyward/auth" }).macro({
    auth: (need: Need) => ({
      detail: { security: [{ bearer: [] }, ...(allowQueryToken ? [{ queryToken: [] }] : []), { bearer: [], hardwareFingerprint: [] }] },
      async resolve({ request, server, set, status }) {
        const ip = clientIp(request, server, trustedProxies);
        const fingerprint = request.headers.get("x-hardware-fingerprint");
        const outcome = await authenticate({ token: presentedToken(request, allowQueryToken), ip, need, fingerprint });
        if (!outcome.ok) {
          Object.assign(set.headers, outcome.headers);
          return status(outcome.status, outcome.body);
        }
        return { principal: outcome.principal, ip } satisfies Authenticated;
      },
    }),
  });
