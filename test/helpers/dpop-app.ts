import { expect } from "bun:test";
import { ADMIN_TOKEN, client, type Reply } from "./api";
import { inProcessApp } from "./app";
import { deviceKey, type DeviceKey, type ProofOptions } from "./dpop-device";

export const ORIGIN = "http://localhost";
export const ENROLL = `${ORIGIN}/api/v1/tokens/main`;
export const ME = `${ORIGIN}/api/v1/me`;
export const VERIFY = `${ORIGIN}/api/v1/tokens/verify`;

/** The app in process (lockout out of the way), and a device's calls to it with DPoP proofs made at its clock's now. */
export async function dpopApp(env: Record<string, string> = {}) {
  const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_MAX_FAILURES: "1000", ...env });
  const api = client(kw, "");
  /** Any request; `url` a path or a URL of this origin. */
  const call = (method: string, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<Reply> =>
    api.call(method, url.startsWith(ORIGIN) ? url.slice(ORIGIN.length) : url, body, headers);
  const proofBy = (key: DeviceKey, options: ProofOptions) => key.proof({ iat: Math.floor(kw.clock.now() / 1000), ...options });
  /** Enrolls `fingerprint`, with a proof by `key` and it as public_jwk (none: no proof). */
  const enroll = async (fingerprint: string, key: DeviceKey | null, { body = {}, headers = {} }: { body?: Record<string, unknown>; headers?: Record<string, string> } = {}) => {
    const proof: Record<string, string> = key === null ? {} : { dpop: await proofBy(key, { method: "POST", url: ENROLL }) };
    return call("POST", ENROLL, { ...proof, ...headers }, { hardware_fingerprint: fingerprint, ...(key === null ? {} : { public_jwk: key.publicJwk }), ...body });
  };
  /** GET /api/v1/me with the main token as DPoP and a proof by `key` (change any part with `options`). */
  const me = async (mainToken: string, key: DeviceKey, options: Partial<ProofOptions> = {}, headers: Record<string, string> = {}) =>
    call("GET", ME, { authorization: `DPoP ${mainToken}`, dpop: await proofBy(key, { method: "GET", url: ME, token: mainToken, ...options }), ...headers });
  const verify = async (shortToken: string, key: DeviceKey | null, options: Partial<ProofOptions> = {}, query = "") =>
    call("GET", `/api/v1/tokens/verify?short_token=${shortToken}${query}`, key === null ? {} : { dpop: await proofBy(key, { method: "GET", url: VERIFY, ...options }) });
  const admin = (method: string, path: string, body?: unknown) => call(method, path, { authorization: `Bearer ${ADMIN_TOKEN}` }, body);
  return { ...kw, call, proofBy, enroll, me, verify, admin };
}

export type DpopApp = Awaited<ReturnType<typeof dpopApp>>;

/** A device enrolled with a new key of `alg`: the key, its tokens and its id. */
export async function boundDevice(kw: DpopApp, fingerprint = "fp-sensor", alg: "ES256" | "Ed25519" = "ES256") {
  const key = await deviceKey(alg);
  const enrolled = await kw.enroll(fingerprint, key);
  expect(enrolled.status).toBe(201);
  return { key, main: enrolled.body.main_token as string, short: enrolled.body.short_token as string, id: enrolled.body.device_id as string, enrolled };
}
