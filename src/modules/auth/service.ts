import type { Db } from "../../db/client";
import { ADMIN_ROLE, DEVICE_ROLE } from "../../lib/names";
import { looksLikeToken } from "../../lib/token-format";
import type { AuditQueue } from "../audit/service";
import { looksLikeJwt, looksLikeShortToken } from "../devices/signing";
import type { Metrics } from "../metrics/registry";
import { type KnownSession, looksLikeSessionValue, type SessionCookie, type Sessions } from "../portal/sessions";
import type { Tallies } from "../usage/tallies";
import type { Quotas } from "../tokens/quota";
import type { RateLimiter } from "../tokens/rate-limit";
import type { Granted, Principal, TokenVerifier, Verification } from "../tokens/verifier";
import { type Admit, type DeviceChecks, deviceDecisions, type Fail } from "./device-credentials";
import { enrollmentGate } from "./enrollment";
import type { KeyBinding } from "./key-binding";
import { limitGate } from "./limits";
import { addressKey, type Lockout } from "./lockout";
import { type LoginDeps, passwordLogin } from "./login";
import { lockedRefusal, refusal } from "./outcomes";
import type { Address, CredentialKind, Decision, Need, Presented, Refusal, Subject } from "./model";
import { allSettled, whenSettled } from "../../lib/settled";
import { carriesAll } from "../../lib/scopes";

export interface AuthCoreDeps {
  db: Db;
  verifier: TokenVerifier;
  /** Where a token's successful uses are counted, for its usage, the series over time and the metrics' totals. */
  tallies: Pick<Tallies, "count">;
  audit: AuditQueue;
  metrics: Metrics;
  lockout: Lockout;
  devices: DeviceChecks;
  sessions: Sessions;
  lab: LoginDeps["lab"];
  /** Tokens' rate limits (in memory) and quotas (in the database). */
  limits: { rates: RateLimiter; quotas: Quotas };
  /** Device credentials bound to a key, and the keys devices enroll with (DPoP). */
  keys: KeyBinding;
  now: () => number;
}

/**
 * Only a Keyward token cannot be guessed by its shape alone (256 random bits; one with a bad
 * checksum is refused without a lookup), so it is decided even from a locked-out address: one bad
 * client behind a NAT does not lock its neighbours' good tokens out. Anything else presented as a
 * token may be an operator's environment value, whatever it looks like, and from a locked-out
 * address it is refused before any check. (A device's JWT with its fingerprint is verified by
 * signature, in memory, and never looked up as anything else.)
 */
const guessable = (token: string) => !looksLikeToken(token);

const allows = (need: Need, role: string) =>
  need === "token" ? true : need === "person" ? role !== DEVICE_ROLE : need.includes(role);
/** The roles a refusal for insufficient_role names. */
const rolesOf = (need: Need): readonly string[] => (need === "person" ? ["user (not device)"] : need === "token" ? [] : need);

export const ADMIN_ONLY: Need = [ADMIN_ROLE];

/**
 * The one authentication core: decides every presented credential — API, environment and
 * admin tokens, passwords, lab logins, device main and short tokens, introspection subjects —
 * and owns what follows from a decision: lockout, failure counts, audit and metrics.
 */
export function createAuthCore({ db, verifier, tallies, audit, metrics, lockout, devices, sessions, lab, limits, keys, now }: AuthCoreDeps) {
  const limited = limitGate({ ...limits, metrics, audit });

  /** A wrong credential: counted against the address, audited, and answered. */
  const fail: Fail = (refused, ip, who = {}, detail = `${refused.credential} ${refused.reason}`, { guess = true } = {}) => {
    metrics.authentication("failure", refused.reason);
    audit.push({ action: "auth.failed", ip, tokenId: who.tokenId, user: who.user, detail });
    if (guess) lockout.count([addressKey(ip)], { ip });
    return refused;
  };

  const locked = lockedRefusal(metrics);

  /**
   * A credential that asks for what it lacks proved itself already: audited, never counted towards
   * the lockout (a token holder could otherwise lock out an address, a proxy's included).
   */
  const lacksScopes = (principal: Principal, scopes: readonly string[] | undefined, credential: CredentialKind, address: Address): Refusal | null =>
    scopes === undefined || carriesAll(principal.scopes, scopes)
      ? null
      : fail(refusal("insufficient_scope", credential, { scopes }), address(), { tokenId: principal.tokenId, user: principal.user }, undefined, { guess: false });

  /**
   * A good credential, checked against what the route needs (role, then scopes), then against its
   * token's limits: at once for a token without any (one property check), a promise only when a
   * use is spent. A refusal for its role, like one for its scopes, is audited but not counted
   * towards the lockout: the credential proved itself, and counting would let its holder lock out
   * an address, a proxy's included.
   */
  const admit: Admit = (granted, address, need, credential, scopes, at = now()) => {
    const { principal } = granted;
    if (!allows(need, principal.role)) {
      return fail(refusal("insufficient_role", credential, { roles: rolesOf(need) }), address(), { tokenId: principal.tokenId, user: principal.user }, undefined, { guess: false });
    }
    const lacking = lacksScopes(principal, scopes, credential, address);
    if (lacking !== null) return lacking;
    if (granted.limits !== undefined) {
      const held = limited(granted.limits, address, at);
      if (held !== null) return whenSettled(held, (refused) => refused ?? pass(granted, address, now()));
    }
    return pass(granted, address, at);
  };

  /**
   * A use counted, at one reading of the clock (a reading costs about 50 ns here): a token's in its
   * tally (per token, per minute, per source); a device's, whose grant is made anew for each check,
   * in the totals only (its record counts its sightings).
   */
  const pass = (granted: Granted, address: Address, at: number): Decision => {
    if (granted.principal.source === "device") metrics.authentication("success", "device", at);
    else tallies.count(granted, at, address);
    return granted;
  };

  const lockedOut = (ip: string) => lockout.retryAfter([addressKey(ip)]);
  const device = deviceDecisions({ devices, keys, metrics, fail, admit, lockedOut, locked });

  /**
   * Any token presented to a protected route. A good one passes without consulting the lockout
   * (the hot path); a guessable one is not even checked from a locked-out address. Only a device's
   * JWT needs async work.
   */
  function token({ token, address, need, fingerprint, clientId, scopes, dpop }: Presented): Decision | Promise<Decision> {
    if (token === null) {
      metrics.authentication("failure", "missing");
      return refusal("missing", "token");
    }
    if (guessable(token)) {
      if (looksLikeJwt(token)) {
        // A JWT is a device's main token when it comes with a fingerprint, or as DPoP (only a device's may be key-bound).
        const claimed = fingerprint?.() || null;
        const proof = dpop?.();
        if (claimed !== null || proof?.dpopScheme) return device.main(token, claimed, address, need, scopes, proof);
      }
      const lockedFor = lockedOut(address());
      if (lockedFor > 0) return locked("token", lockedFor);
    }
    const at = now();
    const result = verifier.verify(token, address, at);
    if (result instanceof Promise) return result.then((settled) => verified(settled, address, need, clientId, scopes, now()));
    return verified(result, address, need, clientId, scopes, at);
  }

  /** The decision on a token the verifier has judged at `at`. */
  function verified(result: Verification, address: Address, need: Need, clientId: string | null | undefined, scopes: readonly string[] | undefined, at: number): Decision | Promise<Decision> {
    // A good secret under another client's id is a failed client authentication like a bad one.
    if (result.ok && clientId != null && clientId !== result.principal.tokenId) {
      const { tokenId, user } = result.principal;
      return fail(refusal("invalid_credentials", "token"), address(), { tokenId, user });
    }
    if (result.ok) return admit(result, address, need, "token", scopes, at);
    const ip = address();
    const lockedFor = lockedOut(ip);
    if (lockedFor > 0) return locked("token", lockedFor);
    return fail(refusal(result.reason, "token", result.reason === "ip_not_allowed" ? { ip } : {}), ip, result);
  }

  /**
   * A browser's `keyward_session` cookies (usually one; a stale copy may come first). Their values
   * are 256 random bits, like a Keyward token's, so a live one is decided even from a locked-out
   * address, and the first live one is the browser's session. Values no session ever had are
   * audited, not counted towards the lockout (see below); nor is one whose session ended (signed
   * out, expired, its account disabled): the browser still holds it, and each of a page's requests
   * would otherwise count against its address. `cookie` says which of the session's two
   * cookies the values are (see SessionCookie): one never opens what only the other may. `scopes`,
   * if given, must all be the account's.
   */
  function session(values: readonly string[], address: Address, need: Need, cookie: SessionCookie = "domain", scopes?: readonly string[]): Decision | Promise<Decision> {
    const at = now();
    const shaped = values.filter(looksLikeSessionValue);
    const found = allSettled(shaped.map((value) => sessions.find(value, at, cookie)));
    if (found instanceof Promise) return found.then((settled) => sessionDecision(values, settled, address, need, at, scopes));
    return sessionDecision(values, found, address, need, at, scopes);
  }

  function sessionDecision(values: readonly string[], found: readonly (KnownSession | null)[], address: Address, need: Need, at: number, scopes: readonly string[] | undefined): Decision {
    const known = found.filter((session) => session !== null);
    const live = known.find((candidate) => sessions.whyEnded(candidate, at) === null && candidate.granted !== null);
    if (live === undefined) {
      // Audited, never counted: 256 random bits cannot be guessed, and any host of the cookie
      // domain can plant a cookie in a browser, so counting would let it lock a person out.
      if (known.length === 0) return fail(refusal(values.some(looksLikeSessionValue) ? "unknown" : "malformed", "session"), address(), {}, undefined, { guess: false });
      const reason = sessions.whyEnded(known[0]!, at) ?? "disabled";
      metrics.authentication("failure", reason);
      return refusal(reason, "session");
    }
    const granted = live.granted!;
    const { principal } = granted;
    // A signed-in person opening a service meant for another role proved a password already: no
    // guess to slow down, and one page makes dozens of requests, so audited but not counted
    // towards the address's lockout (behind a proxy, everyone's address).
    if (!allows(need, principal.role)) {
      return fail(refusal("insufficient_role", "session", { roles: rolesOf(need) }), address(), { tokenId: principal.tokenId, user: principal.user }, undefined, { guess: false });
    }
    const lacking = lacksScopes(principal, scopes, "session", address);
    if (lacking !== null) return lacking;
    sessions.seen(live, at, address);
    metrics.authentication("success", "session");
    return granted;
  }

  /**
   * Who a token belongs to, for a resource server (no address or fingerprint check). A guessable
   * subject that is not active counts against the caller's address, so introspection is no
   * guessing oracle; from a locked-out address only Keyward tokens and device tokens (verified by
   * signature or by their derivation) are checked, and anything else gets 429.
   */
  async function introspect(presented: string, ip: string): Promise<Decision<{ subject: Subject | null }>> {
    const guessed = guessable(presented);
    const lockedFor = guessed ? lockedOut(ip) : 0;
    if (lockedFor === 0) {
      const result = await verifier.verify(presented, null, now());
      if (result.ok) return { ok: true, subject: { kind: "token", principal: result.principal, limits: result.limits } };
    }
    const device = looksLikeJwt(presented) ? await devices.main(presented, null) : looksLikeShortToken(presented) ? await devices.short(presented, null) : null;
    if (device?.ok) return { ok: true, subject: { kind: "device", device: device.device, token: device.token } };
    if (lockedFor > 0) return locked("token", lockedFor);
    if (guessed) lockout.count([addressKey(ip)], { ip });
    return { ok: true, subject: null };
  }

  const login = passwordLogin({ db, lab, lockout, metrics, audit, now });
  const enrollment = enrollmentGate({ lockout, metrics, audit });
  return { token, session, shortToken: device.short, login, introspect, enrollment, enrollmentKey: device.enrollmentKey };
}

export type AuthCore = ReturnType<typeof createAuthCore>;
