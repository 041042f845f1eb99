import type { DeviceRow, DeviceTokenRow } from "../devices/service";
import type { EnrollmentRefusal } from "../devices/enrollment";
import type { ProofRequest } from "./dpop";
import type { RateLimit } from "../tokens/limits";
import type { LimitedToken } from "./limits";
import type { Principal } from "../tokens/verifier";

/** Who may pass: any credential, anyone but a device, or a holder of one of these roles. */
export type Need = "token" | "person" | readonly string[];

/** What was presented, for the audit trail and the wording of a 401. */
export type CredentialKind = "token" | "device" | "short_token" | "password" | "lab" | "enrollment" | "session";

/**
 * Why a credential was refused: a closed list, from the core to the HTTP table, the audit log
 * and the metric labels.
 */
export type Reason =
  | "missing"
  | "malformed"
  | "unknown"
  | "expired"
  | "revoked"
  | "disabled"
  | "invalid_credentials"
  | "ip_not_allowed"
  | "fingerprint_mismatch"
  | "dpop_required"
  | "invalid_dpop_proof"
  | "insufficient_role"
  | "insufficient_scope"
  | "enrollment_refused"
  | "locked_out"
  | "rate_limited"
  | "quota_exhausted";

/** Some of the reasons, for a part that gives only those: naming one that is not a Reason fails to compile. */
export type ReasonOf<R extends Reason> = R;

/** Why an enrollment was refused: the device rules' answer, or a refusal they threw. */
export type EnrollmentFailure = EnrollmentRefusal | "device_revoked" | "invalid_request";

/** An `auth.failed` audit row's detail: what was presented and why it was refused, never free text. */
export type FailureDetail = `${CredentialKind} ${Reason}` | `enrollment ${EnrollmentFailure}`;

export interface Refusal {
  ok: false;
  reason: Reason;
  credential: CredentialKind;
  /** For locked_out, rate_limited and quota_exhausted (when a refill is due): when trying again can succeed. */
  retryAfterMs?: number;
  /** For a token's rate_limited: the limit it met, for the RateLimit-Policy header. */
  rateLimit?: RateLimit;
  /** For insufficient_role: the roles that would have passed. */
  roles?: readonly string[];
  /** For insufficient_scope: the scopes asked for, all of which a credential must carry. */
  scopes?: readonly string[];
  /** For ip_not_allowed: the address the credential was used from. */
  ip?: string;
  /** For dpop_required and invalid_dpop_proof: what is wrong with the proof, safe to tell its sender. */
  problem?: string;
}

export type Decision<T extends object = { principal: Principal }> = ({ ok: true } & T) | Refusal;

/**
 * The client's address, asked for only when a decision needs it: a refusal, an address
 * allowlist, a token's first use in a usage flush. A good token usually needs none.
 */
export type Address = () => string;

export interface Presented {
  token: string | null;
  address: Address;
  need: Need;
  /** X-Hardware-Fingerprint: with it, a JWT is taken as a device's main token. Read only for a JWT. */
  fingerprint?: () => string | null;
  /** An OAuth client's id: the token is its secret only if it is the token with this id. */
  clientId?: string | null;
  /** Scopes the credential must all carry (forward auth's `?scope=`); none asked, no check. */
  scopes?: readonly string[];
  /** The request's DPoP side, for a device token bound to a key; read only for a JWT. None: a bound token cannot pass. */
  dpop?: () => ProofRequest;
}

export type DeviceCredential = { device: DeviceRow; token: DeviceTokenRow };
export type Subject = { kind: "token"; principal: Principal; limits?: LimitedToken } | ({ kind: "device" } & DeviceCredential);
/**
 * A login that passed. `passwordHash` is the hash the password was checked against (null for a lab
 * login): what is written next (a session) is written only while the account still has it, so a
 * password changed during the seconds of an argon2id check is not outlived by that login.
 */
export type LoggedIn = { user: string; role: string; lab: boolean; passwordHash: string | null };
