import { t } from "elysia";
import { errorBody, type ErrorBody } from "../../http/errors";
import { queryParameters } from "../../http/schema";
import { MAX_SCOPES, requestedScopes, SCOPE_RULES } from "../../lib/scopes";

/** Past this a role list is a misconfigured proxy, not a request to weigh. */
const MAX_ROLES_LENGTH = 200;
const TOO_MANY_ROLES = errorBody("invalid_role", `?role= in Keyward's URL is over ${MAX_ROLES_LENGTH} characters: fix the proxy's configuration`);
// Both would otherwise pass more than the proxy meant: no role checked at all, or only the last list.
const NO_ROLE = errorBody("invalid_role", "?role= in Keyward's URL names no role, which would check nothing (an unset variable in the proxy's configuration?): fix the proxy's configuration");
const REPEATED_ROLE = errorBody("invalid_role", "?role= appears more than once in Keyward's URL: list the roles in one ?role=, comma-separated: fix the proxy's configuration");
const MISSPELT = errorBody("invalid_query", "Keyward's URL names a check it does not know (a misspelt ?role= or ?scope=, such as ?roles= or ?scope[]=), which would check nothing: fix the proxy's configuration");
const INVALID_SCOPE = errorBody("invalid_scope", `?scope= in Keyward's URL is not a list a credential could carry (${SCOPE_RULES}): fix the proxy's configuration`);

/**
 * A query key that is almost `role` or `scope`, as Elysia decodes it and with any spacing, control
 * or invisible character taken out (`?Role=`, `?%52ole=`, `?role%20=`, `?scope[]=`): a proxy
 * configured with one would silently check nothing.
 */
const nearMiss = /^(?:roles?|scopes?)(?:\[\])?$/i;
const unseen = /[\s\p{Cc}\p{Cf}]/gu;

const ForwardQuery = t.Object({
  scope: t.Optional(
    t.String({
      description: `Scopes a credential must all carry, repeated (\`scope=nas&scope=backup:read\`) or space-separated; by default none is checked. A credential without scopes passes no scope check. A list no credential could carry (empty, over ${MAX_SCOPES}, a malformed scope) is refused with 403 (invalid_scope)`,
      examples: ["nas"],
    }),
  ),
  role: t.Optional(
    t.String({
      description: `Roles that may pass, comma-separated (any of them), in one ?role=; by default any valid token passes. At most ${MAX_ROLES_LENGTH} characters: a longer list, one naming no role (\`?role=\`) and a repeated ?role= are refused with 403 (invalid_role), not the 422 nginx would turn into a 500`,
      examples: ["admin"],
    }),
  ),
});

/** The forward-auth routes' query in the OpenAPI document: read by `checksAsked`, never by Elysia. */
export const queryDocumented = queryParameters(ForwardQuery);

export type Checks = { ok: true; roles: readonly string[]; scopes: string[] | undefined } | { ok: false; refusal: ErrorBody };

const NONE: Checks = { ok: true, roles: [], scopes: undefined };

/** A query key or value as Elysia reads one: `+` is a space, and escapes are decoded unless they are not valid. */
function unescaped(text: string): string {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced) || spaced;
  } catch {
    return spaced;
  }
}

/**
 * What Keyward's own URL asks of a forward-auth check (`?role=`, `?scope=`), or the 403 that a
 * proxy configured wrongly gets. Read here rather than declared to Elysia: a declared query makes
 * Elysia read the request's URL twice more, parse and check the query on every request (1–2% of
 * this route's throughput), while a proxy's request here usually has none. Read
 * as Elysia read it before (test/modules/forward-auth-query.test.ts holds `readQuery` to Elysia's own
 * reading): one `role=`, naming at least one role, and the scopes are every `scope=`, split by
 * `requestedScopes`.
 */
export function checksAsked(url: string): Checks {
  const query = readQuery(url);
  if (query === null) return NONE;
  const { role, roleLists, scoped, misspelt } = query;
  if (role !== undefined && role.length > MAX_ROLES_LENGTH) return { ok: false, refusal: TOO_MANY_ROLES };
  if (misspelt) return { ok: false, refusal: MISSPELT };
  if (roleLists > 1) return { ok: false, refusal: REPEATED_ROLE };
  const roles = role?.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean) ?? [];
  if (role !== undefined && roles.length === 0) return { ok: false, refusal: NO_ROLE };
  // Every `scope=`, however many, each split by requestedScopes.
  const scopes = scoped ? requestedScopes(new URLSearchParams(url.slice(url.indexOf("?") + 1)).getAll("scope")) : undefined;
  if (scopes === null) return { ok: false, refusal: INVALID_SCOPE };
  return { ok: true, roles, scopes };
}

/**
 * The query as Elysia would read `role` and `scope` from it (the last `role=`), how many `role=` it
 * has, and whether a key is a near miss of either; null without one.
 */
export function readQuery(url: string): { role: string | undefined; roleLists: number; scoped: boolean; misspelt: boolean } | null {
  const start = url.indexOf("?");
  if (start === -1) return null;
  let role: string | undefined;
  let roleLists = 0;
  let scoped = false;
  let misspelt = false;
  for (const pair of url.slice(start + 1).split("&")) {
    const equals = pair.indexOf("=");
    const key = unescaped(equals === -1 ? pair : pair.slice(0, equals));
    if (key !== "role" && key !== "scope" && nearMiss.test(key.replace(unseen, ""))) misspelt = true;
    if (key === "role") {
      role = equals === -1 ? "" : unescaped(pair.slice(equals + 1));
      roleLists++;
    } else if (key === "scope") scoped = true;
  }
  return { role, roleLists, scoped, misspelt };
}
