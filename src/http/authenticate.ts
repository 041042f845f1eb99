import type { FailureLimiter } from "../lib/failure-limiter";
import { ADMIN_ROLE } from "../lib/names";
import type { AuditQueue } from "../modules/audit/service";
import type { UsageTracker } from "../modules/tokens/usage";
import type { Principal, TokenVerifier } from "../modules/tokens/verifier";
import { errorBody, type ErrorBody } from "./errors";

/** Who may call a route: anyone holding a valid token, or only an admin. */
export type Need = "token" | "admin";

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403 | 429; body: ErrorBody; headers: Record<string, string> };

export interface AuthenticatorDeps {
  verifier: TokenVerifier;
  usage: UsageTracker;
  audit: AuditQueue;
  failures: FailureLimiter;
}

export const INVALID_TOKEN = errorBody("invalid_token", "Invalid or expired authentication token");

/**
 * Decides one presented token for one client address: 429 while the address is locked out after
 * too many failures, 401 for no token or a bad one (counted towards that lockout), 403 for a good
 * token used from outside its ranges or without the needed role. A success counts one use.
 */
export function createAuthenticator({ verifier, usage, audit, failures }: AuthenticatorDeps) {
  return function authenticate(token: string | null, ip: string, need: Need, invalid: ErrorBody = INVALID_TOKEN): AuthOutcome {
    if (token === null) return { ok: false, status: 401, body: invalid, headers: { "www-authenticate": 'Bearer realm="keyward"' } };
    const locked = lockedOut(failures, `ip:${ip}`);
    if (locked) return locked;
    const result = verifier.verify(token, ip);
    if (!result.ok) {
      audit.push({ action: "auth.failed", ip, tokenId: result.tokenId, user: result.user, detail: result.reason });
      if (result.reason === "ip_not_allowed") {
        return { ok: false, status: 403, body: errorBody("ip_not_allowed", `This token may not be used from ${ip}`), headers: {} };
      }
      countFailure(failures, audit, `ip:${ip}`, { ip });
      return { ok: false, status: 401, body: invalid, headers: { "www-authenticate": 'Bearer realm="keyward", error="invalid_token"' } };
    }
    const { principal } = result;
    if (need === "admin" && principal.role !== ADMIN_ROLE) {
      audit.push({ action: "auth.failed", ip, tokenId: principal.tokenId, user: principal.user, detail: "not admin" });
      return { ok: false, status: 403, body: errorBody("insufficient_role", "This needs the admin role"), headers: {} };
    }
    usage.record(principal.tokenId, ip);
    return { ok: true, principal };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

/** The 429 answer for a locked key, or null when it may try. */
export function lockedOut(failures: FailureLimiter, key: string): AuthOutcome | null {
  const lock = failures.check(key);
  if (!lock.locked) return null;
  const seconds = Math.max(1, Math.ceil(lock.retryAfterMs / 1000));
  return {
    ok: false,
    status: 429,
    body: errorBody("too_many_failures", `Too many failed attempts; try again in ${seconds} seconds`),
    headers: { "retry-after": String(seconds) },
  };
}

/** Counts a failure against a key, and writes the lockout to the audit log when it starts. */
export function countFailure(failures: FailureLimiter, audit: AuditQueue, key: string, who: { ip: string; user?: string }): void {
  if (failures.fail(key)) audit.push({ action: "auth.locked", ip: who.ip, user: who.user, detail: `${key} locked out` });
}
