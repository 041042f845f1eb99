import type { Metrics } from "../metrics/registry";
import type { CredentialKind, Reason, Refusal } from "./model";

/** A refusal, as every decision of the core gives it. */
export const refusal = (reason: Reason, credential: CredentialKind, extra: Partial<Refusal> = {}): Refusal => ({ ok: false, reason, credential, ...extra });

/** A credential refused unchecked, its address or name locked out for `retryAfterMs`. */
export const lockedRefusal =
  (metrics: Metrics) =>
  (credential: CredentialKind, retryAfterMs: number): Refusal => {
    metrics.authentication("failure", "locked_out");
    return refusal("locked_out", credential, { retryAfterMs });
  };
