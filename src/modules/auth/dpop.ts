import { calculateJwkThumbprint, decodeJwt, EmbeddedJWK, jwtVerify, type JWK } from "jose";
import { looksLikeJwt } from "../devices/signing";
import type { Spent, SpentProofs } from "./proof-replays";

/** The keys a device may hold (RFC 9449 §5 leaves the choice to the server): P-256, and Ed25519. */
export const DPOP_ALGORITHMS = ["ES256", "EdDSA", "Ed25519"] as const;
/** A proof older than this is refused: a minute, room for a slow request, too short to keep a captured one useful. */
export const PROOF_MAX_AGE_MS = 60_000;
/** A device's clock may run this far ahead of ours. */
const CLOCK_SKEW_MS = 5_000;
/** A proof with a P-256 key is about 700 characters; anything past this is not one. */
const MAX_PROOF_LENGTH = 2_048;
const MAX_JTI_LENGTH = 128;

/** What a request offers for a DPoP check, read only when a credential needs it. */
export interface ProofRequest {
  /** The Authorization header used the DPoP scheme (RFC 9449 §7.1), not Bearer. */
  dpopScheme: boolean;
  /** The DPoP header; null when absent. Sent twice it reads as one value with a comma, which is not a proof. */
  proof: string | null;
  /** The method and URL (no query, no fragment) the proof must name; null when unknown (a proxy that forwards none, or two that disagree). */
  method: string | null;
  /** Every form of the request's URL a proof may name: its own host, the forwarded one, KEYWARD_PUBLIC_URL. */
  uris: readonly string[];
}

/** A proof whose signature and claims hold: its key's thumbprint, and `spend` to use its jti once. */
export type ProofCheck = { ok: true; thumbprint: string; spend(): Spent } | { ok: false; problem: string };

/**
 * The proof of an access token carries its SHA-256 (`ath`): required with a token presented as
 * DPoP, checked when present with a device's short token, absent when enrolling.
 */
export type TokenHash = { token: string; required: boolean } | null;

const base64urlSha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("base64url");

/** The URL as a proof's `htu` is compared (RFC 9449 §4.3): scheme, host and path, normalised; no query or fragment. */
export function proofUri(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return null;
  }
}

type Signed = { ok: true; thumbprint: string; jti: string; iat: number; ath: unknown } | { ok: false; problem: string };

/**
 * Checks DPoP proofs (RFC 9449 §4.3): a `dpop+jwt` signed by the public key in its own header,
 * naming this request's method and URL, made within the last minute, and (see proof-replays.ts) used
 * once. Which key must have signed it is the caller's business: a key-bound token's, or any key a
 * device enrolls with. A request's proof is verified and spent once, however many checks ask (an
 * enrollment that renews with a bound token asks twice: for the token, then for the key).
 */
export class DpopProofs {
  private readonly signed = new WeakMap<ProofRequest, Promise<Signed>>();
  private readonly spent = new WeakMap<ProofRequest, Spent>();

  constructor(private readonly replays: SpentProofs) {}

  async check(request: ProofRequest, tokenHash: TokenHash, now: number): Promise<ProofCheck> {
    let signed = this.signed.get(request);
    if (signed === undefined) this.signed.set(request, (signed = verifySigned(request, now)));
    const proof = await signed;
    if (!proof.ok) return proof;
    if (tokenHash !== null && (tokenHash.required || proof.ath !== undefined) && proof.ath !== base64urlSha256(tokenHash.token)) {
      return refused("The DPoP proof's ath is not the SHA-256 of the token presented");
    }
    const spend = () => {
      // Remembered one millisecond past the last instant the proof passes (PROOF_MAX_AGE_MS old).
      if (!this.spent.has(request)) this.spent.set(request, this.replays.spend(proof.thumbprint, proof.jti, proof.iat * 1000 + PROOF_MAX_AGE_MS + 1, now));
      return this.spent.get(request)!;
    };
    return { ok: true, thumbprint: proof.thumbprint, spend };
  }
}

/**
 * The proof's signature and its claims but `ath`, which depends on the token it goes with. The
 * claims are read first: a stale or misdirected proof costs no signature check.
 */
async function verifySigned(request: ProofRequest, now: number): Promise<Signed> {
  const { proof } = request;
  if (proof === null) return refused("A DPoP header with a proof is required");
  if (proof.length > MAX_PROOF_LENGTH || !looksLikeJwt(proof)) return refused("The DPoP header is not one proof (a JWT)");
  let claims;
  try {
    claims = decodeJwt(proof);
  } catch {
    return refused("The DPoP header is not one proof (a JWT)");
  }
  const { jti, htm, htu, iat, ath } = claims;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return refused(`The DPoP proof needs a jti of 1 to ${MAX_JTI_LENGTH} characters`);
  if (typeof iat !== "number") return refused("The DPoP proof needs an iat");
  const age = now - iat * 1000;
  if (age > PROOF_MAX_AGE_MS) return refused("The DPoP proof is too old: make a new one for each request");
  if (age < -CLOCK_SKEW_MS) return refused("The DPoP proof's iat is in the future: check the device's clock");
  if (request.method === null) {
    return refused(
      "Keyward cannot tell the method and URL the DPoP proof should name: the proxy must forward them (X-Forwarded-Method and -Uri, or X-Original-Method and -URL, agreeing where both are sent), from an address in KEYWARD_TRUSTED_PROXIES when that is set",
    );
  }
  if (htm !== request.method) return refused("The DPoP proof's htm is not this request's method");
  const uri = typeof htu === "string" ? proofUri(htu) : null;
  if (uri === null || !request.uris.includes(uri)) return refused(`The DPoP proof's htu is not this request's URL: ${request.uris[0]} (without the query)`);
  const header = proof.slice(0, proof.indexOf("."));
  let signer: KeyOf | undefined;
  try {
    await jwtVerify(proof, async (protectedHeader, token) => (signer = await keyOf(header, protectedHeader, token)).key, {
      typ: "dpop+jwt",
      algorithms: [...DPOP_ALGORITHMS],
      currentDate: new Date(now),
    });
  } catch {
    return refused(`The DPoP proof is not a dpop+jwt signed (${DPOP_ALGORITHMS.join(", ")}) by the public key in its jwk header`);
  }
  return { ok: true, thumbprint: signer!.thumbprint, jti, iat, ath };
}

const refused = (problem: string) => ({ ok: false as const, problem });

type KeyOf = { key: Awaited<ReturnType<typeof EmbeddedJWK>>; thumbprint: string };
/** A device makes every proof with one header (alg, typ, its jwk): this many keys' imports are kept. */
const KEYS_KEPT = 10_000;
const keys = new Map<string, Promise<KeyOf>>();

/**
 * The public key in a proof's header (jose's EmbeddedJWK: a public key, fit for the header's alg)
 * and its thumbprint, kept per header as sent: importing and hashing cost a third as much as the
 * signature check, and a device sends the same header every time. A header that fails is not kept.
 */
function keyOf(header: string, ...args: Parameters<typeof EmbeddedJWK>): Promise<KeyOf> {
  let found = keys.get(header);
  if (found === undefined) {
    found = EmbeddedJWK(...args).then(async (key) => ({ key, thumbprint: await calculateJwkThumbprint((args[0] as { jwk: JWK }).jwk, "sha256") }));
    found.catch(() => keys.delete(header));
    if (keys.size >= KEYS_KEPT) keys.delete(keys.keys().next().value!);
    keys.set(header, found);
  }
  return found;
}
