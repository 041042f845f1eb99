import { calculateJwkThumbprint, type JWK } from "jose";
import type { DpopProofs, ProofRequest, TokenHash } from "./dpop";
import type { SpendRefusal } from "./proof-replays";
import type { Reason } from "./model";

/** Why a device credential is not presented as its key binding needs; the core refuses with it. */
export type KeyProblem = { reason: Extract<Reason, "dpop_required" | "invalid_dpop_proof">; problem: string };

const required = (problem: string): KeyProblem => ({ reason: "dpop_required", problem });
const invalid = (problem: string): KeyProblem => ({ reason: "invalid_dpop_proof", problem });

/**
 * A device credential bound to a key (RFC 9449): a main token passes only as `Authorization: DPoP`
 * with a proof by that key, naming the token (`ath`); a short token only with such a proof (its
 * `ath` checked if sent). An unbound main token passes only as Bearer, as before keys existed.
 */
export function keyBinding(proofs: DpopProofs, now: () => number) {
  /** The proof, checked and spent: null if it is by `bound`, else why not. */
  const provenBy = (bound: string, request: ProofRequest, tokenHash: TokenHash): Promise<KeyProblem | null> =>
    proofs.check(request, tokenHash, now()).then(async (check) => {
      if (!check.ok) return invalid(check.problem);
      if (check.thumbprint !== bound) return invalid("The DPoP proof is signed by another key than the one this token is bound to");
      return spentOnce(await check.spend());
    });

  return {
    /** A device's main token (`jwt`) whose device is bound to `bound` (null: to no key). */
    main(bound: string | null, jwt: string, request: ProofRequest | undefined): KeyProblem | null | Promise<KeyProblem | null> {
      if (bound === null) return request?.dpopScheme ? invalid("This token is not bound to a key: present it as Bearer") : null;
      if (request === undefined || !request.dpopScheme) return required("This token is bound to a key: present it as Authorization: DPoP with a DPoP proof by that key");
      if (request.proof === null) return required("A DPoP header with a proof by the token's key is required");
      return provenBy(bound, request, { token: jwt, required: true });
    },

    /** A device's short token, however it was presented. */
    short(bound: string | null, shortToken: string, request: ProofRequest | undefined): KeyProblem | null | Promise<KeyProblem | null> {
      if (bound === null) return null;
      if (request === undefined || request.proof === null) return required("This device is bound to a key: send a DPoP header with a proof by it");
      return provenBy(bound, request, { token: shortToken, required: false });
    },

    /**
     * The key an enrollment proves it holds: the thumbprint of its DPoP proof's key, or null with
     * no proof. `publicJwk`, if sent, must be that key: a key named but not proven binds nothing.
     */
    async enrollment(request: ProofRequest, publicJwk: JWK | undefined): Promise<{ ok: true; thumbprint: string | null } | { ok: false; problem: KeyProblem }> {
      if (request.proof === null) {
        return publicJwk === undefined ? { ok: true, thumbprint: null } : { ok: false, problem: required("public_jwk needs a DPoP header with a proof signed by that key") };
      }
      const check = await proofs.check(request, null, now());
      if (!check.ok) return { ok: false, problem: invalid(check.problem) };
      if (publicJwk !== undefined && (await thumbprintOf(publicJwk)) !== check.thumbprint) {
        return { ok: false, problem: invalid("public_jwk is not the key that signed the DPoP proof") };
      }
      const spent = spentOnce(await check.spend());
      return spent === null ? { ok: true, thumbprint: check.thumbprint } : { ok: false, problem: spent };
    },
  };
}

export type KeyBinding = ReturnType<typeof keyBinding>;

const unspent: Record<SpendRefusal, string> = {
  replayed: "This DPoP proof was used before: make a new one for each request",
  key_busy: "This key made too many DPoP proofs in the last minute: slow down",
  busy: "Too many DPoP proofs at once: try again in a few seconds",
};

function spentOnce(refusal: SpendRefusal | null): KeyProblem | null {
  return refusal === null ? null : invalid(unspent[refusal]);
}

/** A key's RFC 7638 thumbprint; null for a key it cannot be computed for (a member missing). */
async function thumbprintOf(jwk: JWK): Promise<string | null> {
  try {
    return await calculateJwkThumbprint(jwk, "sha256");
  } catch {
    return null;
  }
}
