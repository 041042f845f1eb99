/**
 * DPoP requests for wrk (RFC 9449). A proof is spent once (its jti) and refused past a minute, and a
 * key may spend only so many a minute, so the load comes from a pool of key-bound devices taken in
 * turn, and every measured run gets proofs of its own, signed just before it, through a Lua script
 * that sends a different one with each request. Signed with node:crypto rather than the test
 * helper's WebCrypto key: the same ES256 proofs at half the cost (about 35 µs each).
 */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";
import { REPLAY_LIMITS } from "../src/modules/auth/proof-replays";

/**
 * Proofs signed per second of load: about twice what this 2-core machine answers on the DPoP path,
 * so a run does not wrap around to proofs it spent.
 */
const PROOFS_PER_SECOND = 6_000;
/**
 * The most the DPoP runs within any minute spend on one server, at about 3,000 a second: two 5 s
 * runs of the tables (rounds are 40 s apart), or 25 s of paired rounds at half speed. Under the
 * 100,000 past which the server takes proofs only from quiet keys.
 */
const SPENT_PER_MINUTE = 75_000;
/** Enough devices that each spends at most half of what one key may in a minute. */
export const DEVICES = Math.ceil(SPENT_PER_MINUTE / (REPLAY_LIMITS.perKey / 2));

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

export interface KeyedDevice {
  fingerprint: string;
  key: BenchDeviceKey;
  main: string;
  short: string;
}

/** Enrolls `count` devices, each with a key of its own, which binds the device to it. */
export async function enrollKeyedDevices(origin: string, count: number): Promise<KeyedDevice[]> {
  const url = `${origin}/api/v1/tokens/main`;
  const devices: KeyedDevice[] = [];
  for (let i = 0; i < count; i++) {
    const fingerprint = `fp-bench-key-${i}`;
    const key = await benchDeviceKey();
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", dpop: key.proof({ method: "POST", url }) }, body: JSON.stringify({ hardware_fingerprint: fingerprint }) });
    const body = (await res.json()) as Record<string, string>;
    if (res.status !== 201 || body.key_thumbprint !== key.thumbprint) throw new Error(`enrolling with a key answered ${res.status} ${JSON.stringify(body)}`);
    devices.push({ fingerprint, key, main: body.main_token!, short: body.short_token! });
  }
  return devices;
}

/** One device's GET: its path (with query), its Authorization header, and the token its proof's ath hashes. */
export interface DeviceRequest {
  path: string;
  authorization?: string;
  token?: string;
}

/**
 * A maker of wrk scripts for `request` to `origin`: each call signs the proofs a run of `seconds`
 * needs, at that moment, by the devices in turn, and returns a script that sends one per request.
 */
export function proofScripts(dir: string, origin: string, devices: readonly KeyedDevice[], request: (device: KeyedDevice) => DeviceRequest, threads: number): (seconds: number) => string {
  const lines = join(dir, "requests.tsv");
  const script = join(dir, "dpop.lua");
  writeFileSync(script, luaSendingEach(lines, threads));
  const requests = devices.map((device) => {
    const { path, authorization = "", token } = request(device);
    return { device, path, authorization, proof: { method: "GET", url: `${origin}${new URL(path, origin).pathname}`, token } };
  });
  return (seconds) => {
    const iat = Math.floor(Date.now() / 1000);
    const signed = Array.from({ length: Math.ceil(seconds * PROOFS_PER_SECOND) }, (_, i) => {
      const { device, path, authorization, proof } = requests[i % requests.length]!;
      return `${path}\t${authorization}\t${device.key.proof(proof, iat)}`;
    });
    writeFileSync(lines, `${signed.join("\n")}\n`);
    return script;
  };
}

/**
 * Sends the requests in `file` (path, Authorization or nothing, DPoP proof: tab-separated), one per
 * request, with wrk's own headers. Thread n of `threads` takes every threads-th line from the n-th,
 * so no two threads send the same proof.
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
  for fields in io.lines(${JSON.stringify(file)}) do
    if line % ${threads} == id then
      local path, authorization, proof = fields:match("^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)$")
      local headers = { DPoP = proof }
      for name, value in pairs(wrk.headers) do headers[name] = value end
      if authorization ~= "" then headers["Authorization"] = authorization end
      requests[#requests + 1] = wrk.format(nil, path, headers)
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
