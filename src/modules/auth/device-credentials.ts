import { DEVICE_ROLE } from "../../lib/names";
import { whenSettled } from "../../lib/settled";
import type { DeviceCheck } from "../devices/service";
import type { Metrics } from "../metrics/registry";
import type { Granted } from "../tokens/verifier";
import type { ProofRequest } from "./dpop";
import type { KeyBinding, KeyProblem } from "./key-binding";
import type { Address, CredentialKind, Decision, DeviceCredential, FailureDetail, Need, Refusal } from "./model";
import { refusal } from "./outcomes";

/** A device's main token (a JWT) or short token, with the fingerprint the request claims, if any. */
export interface DeviceChecks {
  /** Each answered at once when the token was checked before; a first check waits for its signature. */
  main(jwt: string, fingerprint: string | null): DeviceCheck | Promise<DeviceCheck>;
  short(shortToken: string, fingerprint: string | null): DeviceCheck | Promise<DeviceCheck>;
}

/** The core's answer to a wrong credential: audited, counted against the address unless `guess` is false. */
export type Fail = (refused: Refusal, ip: string, who?: { tokenId?: string; user?: string }, detail?: FailureDetail, options?: { guess?: boolean }) => Refusal;
/** The core's checks of a good credential against what the route needs; `at`, when the caller read the clock already (the hot path reads it once per decision). */
export type Admit = (granted: Granted, address: Address, need: Need, credential: CredentialKind, scopes?: readonly string[], at?: number) => Decision | Promise<Decision>;

export interface DeviceDecisionDeps {
  devices: DeviceChecks;
  keys: KeyBinding;
  metrics: Metrics;
  fail: Fail;
  admit: Admit;
  lockedOut: (ip: string) => number;
  locked: (credential: CredentialKind, retryAfterMs: number) => Refusal;
}

const deviceGrant = ({ device, token }: DeviceCredential) => ({
  ok: true as const,
  principal: { user: device.id, role: DEVICE_ROLE, tokenId: token.id, source: "device" as const, issuedAt: token.issuedAt, expiresAt: token.expiresAt, scopes: [] },
});

/** The part of the authentication core that decides a device's credentials: its tokens, and the key they are bound to. */
export function deviceDecisions({ devices, keys, metrics, fail, admit, lockedOut, locked }: DeviceDecisionDeps) {
  /** A device token that failed its check, from a locked-out address or not. */
  const refused = (check: Extract<DeviceCheck, { ok: false }>, credential: CredentialKind, address: Address): Refusal => {
    const ip = address();
    const lockedFor = lockedOut(ip);
    return lockedFor > 0 ? locked(credential, lockedFor) : fail(refusal(check.reason, credential), ip, { tokenId: check.tokenId, user: check.deviceId });
  };

  /**
   * A good device credential presented against its key binding: `then` if as it needs, else a
   * refusal, audited but not counted towards the lockout: a signature cannot be guessed, and
   * counting would let a device with a fast clock, or a flood of one key's proofs, lock out its
   * address (behind a NAT or a proxy, everyone's).
   */
  function bound<T extends object>(
    problem: KeyProblem | null | Promise<KeyProblem | null>,
    { device, token }: DeviceCredential,
    credential: CredentialKind,
    address: Address,
    then: () => Decision<T> | Promise<Decision<T>>,
  ): Decision<T> | Promise<Decision<T>> {
    return whenSettled<KeyProblem | null, Decision<T>>(problem, (found) =>
      found === null ? then() : fail(refusal(found.reason, credential, { problem: found.problem }), address(), { tokenId: token.id, user: device.id }, undefined, { guess: false }),
    );
  }

  return {
    /** A device's main token presented to a protected route, with the fingerprint and DPoP proof it came with. */
    main(jwt: string, fingerprint: string | null, address: Address, need: Need, scopes: readonly string[] | undefined, proof: ProofRequest | undefined): Decision | Promise<Decision> {
      const decide = (check: DeviceCheck): Decision | Promise<Decision> => {
        if (!check.ok) return refused(check, "device", address);
        return bound(keys.main(check.device.keyThumbprint, jwt, proof), check, "device", address, () => admit(deviceGrant(check), address, need, "device", scopes));
      };
      return whenSettled(devices.main(jwt, fingerprint), decide);
    },

    /**
     * A device's short token with the fingerprint it must be bound to, or null to learn the
     * fingerprint (the device-token flow's verify): a refusal counts against the address either way.
     * No short token at all is no guess: refused as `missing`, like a request to `token` with none.
     */
    short(presented: string | null, fingerprint: string | null, address: Address, dpop?: () => ProofRequest): Decision<DeviceCredential> | Promise<Decision<DeviceCredential>> {
      if (presented === null) {
        metrics.authentication("failure", "missing");
        return refusal("missing", "short_token");
      }
      const decide = (check: DeviceCheck): Decision<DeviceCredential> | Promise<Decision<DeviceCredential>> => {
        if (!check.ok) return refused(check, "short_token", address);
        const binding = check.device.keyThumbprint === null ? null : keys.short(check.device.keyThumbprint, presented, dpop?.());
        return bound(binding, check, "short_token", address, () => {
          metrics.authentication("success", "device");
          return check;
        });
      };
      return whenSettled(devices.short(presented, fingerprint), decide);
    },

    /** The key an enrollment proves it holds (see KeyBinding); a refusal is audited, not counted (see `bound`). */
    async enrollmentKey(proof: ProofRequest, publicJwk: Parameters<KeyBinding["enrollment"]>[1], ip: string): Promise<Decision<{ thumbprint: string | null }>> {
      const key = await keys.enrollment(proof, publicJwk);
      if (key.ok) return key;
      return fail(refusal(key.problem.reason, "enrollment", { problem: key.problem.problem }), ip, {}, undefined, { guess: false });
    },
  };
}
