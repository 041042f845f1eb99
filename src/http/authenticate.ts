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

export type Refusal = Extract<AuthOutcome, { ok: false }>;

export interface AuthenticatorDeps {
  verifier: TokenVerifier;
  usage: UsageTracker;
  audit: AuditQueue;
  failures: FailureLimiter;
  devices: DeviceChecks;
  metrics: Metrics;
}

/** A device's main token (a JWT) or short token, with the fingerprint the request claims. */
export interface DeviceChecks {
  main(jwt: string, fingerprint: string): Promise<DeviceCheck>;
  short(shortToken: string, fingerprint: string): Promise<DeviceCheck>;
}

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
const EXPIRED_TOKEN = errorBody("token_expired", "The token has expired");

const challenge = { "www-authenticate": 'Bearer realm="keyward", error="invalid_token"' };

/**
 * Decides one presented token for one client address: 429 while the address is locked out after
 * too many failures, 401 for no token or a bad one (counted towards that lockout), 403 for a good
 * token used from outside its ranges, from another device, or without the needed role. A success
 * counts one use. Only a device's JWT needs async work; everything else answers at once.
 */
export function createAuthenticator({ verifier, usage, audit, failures, devices, metrics }: AuthenticatorDeps) {
  type Who = { tokenId?: string; user?: string };
  const note = (ip: string, detail: string, who: Who = {}) => {
    metrics.authentication("failure", detail);
    audit.push({ action: "auth.failed", ip, tokenId: who.tokenId, user: who.user, detail });
  };

  /** A bad credential: 401, and one more failure towards the address's lockout. */
  const refuse = (ip: string, invalid: ErrorBody, detail: string, who: Who = {}): Refusal => {
    note(ip, detail, who);
    countFailure(failures, audit, `ip:${ip}`, { ip });
    return { ok: false, status: 401, body: invalid, headers: challenge };
  };

  const locked = (ip: string): Refusal | null => {
    const refusal = lockedOut(failures, `ip:${ip}`);
    if (refusal) metrics.authentication("failure", "locked_out");
    return refusal;
  };

  /** A device's credential that did not pass: 403 for another device's fingerprint, else 401. */
  const refuseDevice = (check: Extract<DeviceCheck, { ok: false }>, ip: string, invalid: ErrorBody, prefix: string): Refusal => {
    const who = { tokenId: check.tokenId, user: check.deviceId };
    if (check.reason !== "fingerprint_mismatch") return refuse(ip, invalid, `${prefix}${check.reason}`, who);
    note(ip, `${prefix}fingerprint_mismatch`, who);
    return { ok: false, status: 403, body: FINGERPRINT_MISMATCH, headers: {} };
  };

  const admit = (principal: Principal, ip: string, need: Need): AuthOutcome => {
    if (need === "admin" && principal.role !== ADMIN_ROLE) {
      note(ip, "not admin", { tokenId: principal.tokenId, user: principal.user });
      return { ok: false, status: 403, body: errorBody("insufficient_role", "This needs the admin role"), headers: {} };
    }
    return { ok: true, principal };
  };

  const device = async (jwt: string, fingerprint: string, ip: string, need: Need, invalid: ErrorBody): Promise<AuthOutcome> => {
    const check = await devices.main(jwt, fingerprint);
    if (!check.ok) return refuseDevice(check, ip, invalid, "device ");
    const { device: row, token } = check;
    metrics.authentication("success", "device");
    return admit({ user: row.id, role: DEVICE_ROLE, tokenId: token.id, source: "device", issuedAt: token.issuedAt, expiresAt: token.expiresAt }, ip, need);
  };

  /** Any token presented to a protected route. */
  function authenticate({ token, ip, need, fingerprint, invalid = INVALID_TOKEN }: Presented): AuthOutcome | Promise<AuthOutcome> {
    if (token === null) {
      metrics.authentication("failure", "missing");
      return { ok: false, status: 401, body: invalid, headers: { "www-authenticate": 'Bearer realm="keyward"' } };
    }
    const lock = locked(ip);
    if (lock) return lock;
    if (fingerprint && looksLikeJwt(token)) return device(token, fingerprint, ip, need, invalid);
    const result = verifier.verify(token, ip);
    if (!result.ok) {
      if (result.reason !== "ip_not_allowed") return refuse(ip, invalid, result.reason, result);
      note(ip, result.reason, result);
      return { ok: false, status: 403, body: errorBody("ip_not_allowed", `This token may not be used from ${ip}`), headers: {} };
    }
    const outcome = admit(result.principal, ip, need);
    if (outcome.ok) {
      usage.record(result.principal.tokenId, ip);
      metrics.authentication("success", result.principal.source);
    }
    return outcome;
  }

  /** Seed 003's check of a short token and fingerprint, under the same lockout, audit and metrics. */
  async function checkShortToken(shortToken: string | null, fingerprint: string, ip: string): Promise<Extract<DeviceCheck, { ok: true }> | Refusal> {
    const lock = locked(ip);
    if (lock) return lock;
    const check = await devices.short(shortToken ?? "", fingerprint);
    if (!check.ok) return refuseDevice(check, ip, check.reason === "expired" ? EXPIRED_TOKEN : INVALID_TOKEN, "short token ");
    metrics.authentication("success", "device");
    return check;
  }

  return { authenticate, checkShortToken };
}

export const FINGERPRINT_MISMATCH = errorBody("fingerprint_mismatch", "The hardware fingerprint does not match the one bound in the token");

export type Authenticate = ReturnType<typeof createAuthenticator>["authenticate"];
export type CheckShortToken = ReturnType<typeof createAuthenticator>["checkShortToken"];

/** The 429 answer for a locked key, or null when it may try. */
export function lockedOut(failures: FailureLimiter, key: string): Refusal | null {
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
