import type { Db } from "../../db/client";
import type { FailureLimiter } from "../../lib/failure-limiter";
import { canonicalName, normalizeUser } from "../../lib/names";
import type { AuditQueue } from "../audit/service";
import type { Metrics } from "../metrics/registry";
import { labNameIsFree, passwordAccount } from "./accounts";
import { addressKey, nameKey, type Lockout } from "./lockout";
import type { Decision, LoggedIn } from "./model";
import { lockedRefusal, refusal } from "./outcomes";

export interface LoginDeps {
  db: Db;
  /** Lab mode (KEYWARD_OPEN_LOGIN), and how many lab logins an address may make per window. */
  lab: { enabled: boolean; rate: FailureLimiter };
  lockout: Lockout;
  metrics: Metrics;
  audit: AuditQueue;
  now: () => number;
}

/**
 * A name and password, or in lab mode a bare name nobody owns. A password attempt counts against
 * the address and the name before its argon2id check starts.
 */
export function passwordLogin({ db, lab, lockout, metrics, audit, now }: LoginDeps) {
  const locked = lockedRefusal(metrics);
  return async function login({ name, password, ip }: { name?: string; password?: string; ip: string }): Promise<Decision<LoggedIn>> {
    const user = name === undefined ? null : validName(name);
    if (lab.enabled && user !== null && password === undefined) {
      // Counted before the name is looked up, and taken back if it is not free: a burst sent at once
      // would otherwise all pass the check while their lookups run.
      const wait = lab.rate.take(addressKey(ip), now());
      if (wait.locked) {
        metrics.authentication("failure", "rate_limited");
        return refusal("rate_limited", "lab", { retryAfterMs: wait.retryAfterMs });
      }
      if (await labNameIsFree(db, user)) {
        metrics.authentication("success", "lab");
        return { ok: true, user, role: "user", lab: true, passwordHash: null };
      }
      lab.rate.forgive(addressKey(ip), now());
    }
    const who = { ip, user: user ?? undefined };
    const begun = lockout.begin(name ? [addressKey(ip), nameKey(name)] : [addressKey(ip)], who);
    if (!begun.ok) return locked("password", begun.retryAfterMs);
    const account = await passwordAccount(db, user, password);
    if (!account) {
      begun.attempt.failed();
      metrics.authentication("failure", "invalid_credentials");
      audit.push({ action: "login.failed", ip, user: user ?? (name ? canonicalName(name).slice(0, 64) : null) });
      return refusal("invalid_credentials", "password");
    }
    begun.attempt.succeeded();
    metrics.authentication("success", "login");
    return { ok: true, user: account.username, role: account.role, lab: false, passwordHash: account.passwordHash };
  }
}

function validName(name: string): string | null {
  try {
    return normalizeUser(name);
  } catch {
    return null;
  }
}
