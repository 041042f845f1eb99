/**
 * DPoP requests for wrk (RFC 9449). A proof is spent once (its jti) and refused past a minute, so
 * every measured run gets proofs of its own, signed just before it, and a Lua script that sends a
 * different one with each request. Signed with node:crypto rather than the test helper's WebCrypto
 * key: the same ES256 proofs at half the cost (about 35 µs each), which bounds the run's extra time.
 */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";

/**
 * Proofs signed per second of load: about twice what this 2-core machine answers on the DPoP path,
 * so a run does not wrap around to proofs it spent. A 5 s run spends at most 30,000, and the runs
 * within a minute of each other on one server stay under the 100,000 its replay cache holds.
 */
const PROOFS_PER_SECOND = 6_000;

const base64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");
const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("base64url");

export interface ProofTarget {
  method: string;
  /** The URL the proof names (htu): no query. */
  url: string;
  /** The access token sent with it, whose hash the proof carries (ath); none for a short-token check. */
  token?: string;
}

/** A device's P-256 key pair, its public JWK and RFC 7638 thumbprint, and proofs signed with it. */
export async function benchDeviceKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicJwk = publicKey.export({ format: "jwk" }) as JWK;
  const header = base64url(JSON.stringify({ alg: "ES256", typ: "dpop+jwt", jwk: publicJwk }));
  const proof = ({ method, url, token }: ProofTarget, iat = Math.floor(Date.now() / 1000)) => {
    const claims = { htm: method, htu: url, jti: crypto.randomUUID(), iat, ...(token === undefined ? {} : { ath: sha256(token) }) };
    const input = `${header}.${base64url(JSON.stringify(claims))}`;
    return `${input}.${signature(privateKey, input)}`;
  };
  return { publicJwk, thumbprint: await calculateJwkThumbprint(publicJwk, "sha256"), proof };
}

/** JWS ES256 wants the raw r‖s form, not DER. */
const signature = (key: KeyObject, input: string) => sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");

export type BenchDeviceKey = Awaited<ReturnType<typeof benchDeviceKey>>;

/**
 * A maker of wrk scripts for `target`: each call signs the proofs a run of `seconds` needs, at that
 * moment, and returns a script that sends one of them as the DPoP header with each request.
 */
export function proofScripts(dir: string, key: BenchDeviceKey, target: ProofTarget, threads: number): (seconds: number) => string {
  const proofs = join(dir, "proofs.txt");
  const script = join(dir, "dpop.lua");
  writeFileSync(script, luaSendingEach(proofs, threads));
  return (seconds) => {
    const iat = Math.floor(Date.now() / 1000);
    const signed = Array.from({ length: Math.ceil(seconds * PROOFS_PER_SECOND) }, () => key.proof(target, iat));
    writeFileSync(proofs, `${signed.join("\n")}\n`);
    return script;
  };
}

/**
 * Sends the proofs in `file`, one per request, as the DPoP header beside wrk's own headers. Thread
 * n of `threads` takes every threads-th line from the n-th, so no two threads send the same proof.
 */
const luaSendingEach = (file: string, threads: number) => `local made = 0
function setup(thread)
  thread:set("id", made)
  made = made + 1
end

local requests = {}
local sent = 0
function init()
  local line = 0
  for proof in io.lines(${JSON.stringify(file)}) do
    if line % ${threads} == id then
      local headers = { DPoP = proof }
      for name, value in pairs(wrk.headers) do headers[name] = value end
      requests[#requests + 1] = wrk.format(nil, nil, headers)
    end
    line = line + 1
  end
end

-- Past the last proof it starts over: those are replays, answered 401 and counted as errors.
function request()
  sent = sent % #requests + 1
  return requests[sent]
end
`;

/** Enrolls `fingerprint` with a DPoP proof by `key`, which binds the device to it; its two tokens. */
export async function enrollWithKey(origin: string, fingerprint: string, key: BenchDeviceKey): Promise<{ main: string; short: string }> {
  const url = `${origin}/api/v1/tokens/main`;
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", dpop: key.proof({ method: "POST", url }) }, body: JSON.stringify({ hardware_fingerprint: fingerprint }) });
  const body = (await res.json()) as Record<string, string>;
  if (res.status !== 201 || body.key_thumbprint !== key.thumbprint) throw new Error(`enrolling with a key answered ${res.status} ${JSON.stringify(body)}`);
  return { main: body.main_token!, short: body.short_token! };
}
