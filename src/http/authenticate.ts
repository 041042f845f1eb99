import type { FailureLimiter } from "../lib/failure-limiter";
import { ADMIN_ROLE, DEVICE_ROLE } from "../lib/names";
import type { DeviceCheck } from "../modules/devices/service";
import { looksLikeJwt } from "../modules/devices/signing";
import type { AuditQueue } from "../modules/audit/service";
import type { Metrics } from "../modules/metrics/registry";
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
  devices: DeviceAuthenticator;
  metrics: Metrics;
}

/** Checks a device's main token (a JWT) presented with the fingerprint the request claims. */
export type DeviceAuthenticator = (jwt: string, fingerprint: string) => Promise<DeviceCheck>;

export interface Presented {
  token: string | null;
  ip: string;
  need: Need;
  /** X-Hardware-Fingerprint: with it, a JWT is taken as a device's main token. */
  fingerprint?: string | null;
  /** The 401 body; seed 002's /echo words it its own way. */
  invalid?: ErrorBody;
}

export const INVALID_TOKEN = errorBody("invalid_token", "Invalid or expired authentication token");

const challenge = { "www-authenticate": 'Bearer realm="keyward", error="invalid_token"' };

/**
 * Decides one presented token for one client address: 429 while the address is locked out after
 * too many failures, 401 for no token or a bad one (counted towards that lockout), 403 for a good
 * token used from outside its ranges, from another device, or without the needed role. A success
 * counts one use. Only a device's JWT needs async work; everything else answers at once.
 */
export function createAuthenticator({ verifier, usage, audit, failures, devices, metrics }: AuthenticatorDeps) {
  const refuse = (ip: string, invalid: ErrorBody, detail: string, who: { tokenId?: string; user?: string } = {}): AuthOutcome => {
    metrics.authentication("failure", detail);
    audit.push({ action: "auth.failed", ip, tokenId: who.tokenId, user: who.user, detail });
    countFailure(failures, audit, `ip:${ip}`, { ip });
    return { ok: false, status: 401, body: invalid, headers: challenge };
  };

  const admit = (principal: Principal, ip: string, need: Need): AuthOutcome => {
    if (need === "admin" && principal.role !== ADMIN_ROLE) {
      metrics.authentication("failure", "not_admin");
      audit.push({ action: "auth.failed", ip, tokenId: principal.tokenId, user: principal.user, detail: "not admin" });
      return { ok: false, status: 403, body: errorBody("insufficient_role", "This needs the admin role"), headers: {} };
    }
    return { ok: true, principal };
  };

  const device = async (jwt: string, fingerprint: string, ip: string, need: Need, invalid: ErrorBody): Promise<AuthOutcome> => {
    const check = await devices(jwt, fingerprint);
    if (!check.ok) {
      const who = { tokenId: check.tokenId, user: check.deviceId };
      if (check.reason !== "fingerprint_mismatch") return refuse(ip, invalid, `device ${check.reason}`, who);
      metrics.authentication("failure", "fingerprint_mismatch");
      audit.push({ action: "auth.failed", ip, ...who, detail: "fingerprint_mismatch" });
      return { ok: false, status: 403, body: FINGERPRINT_MISMATCH, headers: {} };
    }
    const { device: row, token } = check;
    metrics.authentication("success", "device");
    return admit({ user: row.id, role: DEVICE_ROLE, tokenId: token.id, source: "device", issuedAt: token.issuedAt, expiresAt: token.expiresAt }, ip, need);
  };

  return function authenticate({ token, ip, need, fingerprint, invalid = INVALID_TOKEN }: Presented): AuthOutcome | Promise<AuthOutcome> {
    if (token === null) {
      metrics.authentication("failure", "missing");
      return { ok: false, status: 401, body: invalid, headers: { "www-authenticate": 'Bearer realm="keyward"' } };
    }
    const locked = lockedOut(failures, `ip:${ip}`);
    if (locked) {
      metrics.authentication("failure", "locked_out");
      return locked;
    }
    if (fingerprint && looksLikeJwt(token)) return device(token, fingerprint, ip, need, invalid);
    const result = verifier.verify(token, ip);
    if (!result.ok) {
      if (result.reason !== "ip_not_allowed") return refuse(ip, invalid, result.reason, result);
      metrics.authentication("failure", result.reason);
      audit.push({ action: "auth.failed", ip, tokenId: result.tokenId, user: result.user, detail: result.reason });
      return { ok: false, status: 403, body: errorBody("ip_not_allowed", `This token may not be used from ${ip}`), headers: {} };
    }
    const outcome = admit(result.principal, ip, need);
    if (outcome.ok) {
      usage.record(result.principal.tokenId, ip);
      metrics.authentication("success", result.principal.source);
    }
    return outcome;
  };
}

export const FINGERPRINT_MISMATCH = errorBody("fingerprint_mismatch", "The hardware fingerprint does not match the one bound in the token");

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
