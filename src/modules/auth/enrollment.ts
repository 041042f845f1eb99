import { DomainError } from "../../lib/errors";
import type { AuditQueue } from "../audit/service";
import type { Metrics } from "../metrics/registry";
import { addressKey, type Lockout } from "./lockout";
import type { Decision, EnrollmentFailure } from "./model";
import { lockedRefusal } from "./outcomes";

/**
 * A device's enrollment, decided by the device rules but counted here. Collecting tokens with an
 * enrollment secret is a guess: refused unchecked from a locked-out address, counted when it
 * starts and taken back if it succeeds. Other enrollments need no secret, so a locked-out
 * address may still make them, but every refusal (no entitlement, a revoked device) counts
 * against it like any failure a stranger can cause.
 */
export function enrollmentGate({ lockout, metrics, audit }: { lockout: Lockout; metrics: Metrics; audit: AuditQueue }) {
  const locked = lockedRefusal(metrics);
  return async function enrollment<T>(
    ip: string,
    withSecret: boolean,
    run: () => Promise<T>,
    refusedBy: (result: T) => { why: EnrollmentFailure; deviceId?: string } | null,
  ): Promise<Decision<{ result: T }>> {
    const begun = withSecret ? lockout.begin([addressKey(ip)], { ip }) : null;
    if (begun && !begun.ok) return locked("enrollment", begun.retryAfterMs);
    const refused = (why: EnrollmentFailure, deviceId?: string) => {
      metrics.authentication("failure", "enrollment_refused");
      audit.push({ action: "auth.failed", ip, user: deviceId, detail: `enrollment ${why}` });
      if (begun?.ok) begun.attempt.failed();
      else lockout.count([addressKey(ip)], { ip });
    };
    let result: T;
    try {
      result = await run();
    } catch (error) {
      if (error instanceof DomainError) refused(error.code === "device_revoked" ? "device_revoked" : "invalid_request");
      else if (begun?.ok) begun.attempt.succeeded();
      throw error;
    }
    const refusal = refusedBy(result);
    if (refusal) refused(refusal.why, refusal.deviceId);
    else if (begun?.ok) begun.attempt.succeeded();
    return { ok: true, result };
  }
}
