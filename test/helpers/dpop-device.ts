import { calculateJwkThumbprint, SignJWT, type JWK } from "jose";

export type DeviceKeyAlgorithm = "ES256" | "Ed25519";

export interface ProofOptions {
  method: string;
  url: string;
  /** The token the proof goes with: its SHA-256 becomes `ath`. */
  token?: string;
  /** Seconds since the epoch; now by default. */
  iat?: number;
  jti?: string;
  /** Header and payload changes, to make a proof wrong in one way. */
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

const ath = (token: string) => new Bun.CryptoHasher("sha256").update(token).digest("base64url");

/**
 * A device as RFC 9449 has it: a key pair whose private half cannot leave WebCrypto (generated
 * non-extractable), its public JWK, and proofs signed with it.
 */
export async function deviceKey(alg: DeviceKeyAlgorithm = "ES256") {
  const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
  const pair = (await crypto.subtle.generateKey(params, false, ["sign", "verify"])) as CryptoKeyPair;
  const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JWK;
  const thumbprint = await calculateJwkThumbprint(publicJwk, "sha256");
  const proof = ({ method, url, token, iat = Math.floor(Date.now() / 1000), jti = crypto.randomUUID(), header = {}, claims = {} }: ProofOptions) =>
    new SignJWT({ htm: method, htu: url, jti, ...(token === undefined ? {} : { ath: ath(token) }), ...claims })
      .setProtectedHeader({ alg, typ: "dpop+jwt", jwk: publicJwk, ...header })
      .setIssuedAt(iat)
      .sign(pair.privateKey);
  return { publicJwk, thumbprint, privateKey: pair.privateKey, proof };
}

export type DeviceKey = Awaited<ReturnType<typeof deviceKey>>;
