import { describe, expect, test } from "bun:test";
import { boundDevice, dpopApp, type DpopApp, ENROLL, ME, ORIGIN } from "../helpers/dpop-app";
import { deviceKey, type DeviceKey } from "../helpers/dpop-device";
import { DpopProofs, type ProofRequest } from "../../src/modules/auth/dpop";
import { ProofReplays, REPLAY_LIMITS, type ReplayLimits } from "../../src/modules/auth/proof-replays";
import { keyBinding } from "../../src/modules/auth/key-binding";

// The attacker's pass over issue 18 (DPoP device keys). The "held" tests pin what resisted; the
// "found" tests reproduce what did not at first, and pin the fix.

type Reply = Awaited<ReturnType<DpopApp["call"]>>;
const keyward = dpopApp;

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A compact JWS over any header and payload (iat as a string, say), signed with the device's ES256 key. */
async function rawProof(key: DeviceKey, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${b64({ alg: "ES256", typ: "dpop+jwt", jwk: key.publicJwk, ...header })}.${b64(payload)}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString("base64url")}`;
}

const ath = (token: string) => new Bun.CryptoHasher("sha256").update(token).digest("base64url");

describe("held: forged and confused proofs for a bound main token", () => {
  test("each is refused with 401 invalid_dpop_proof, never a 500", async () => {
    const kw = await keyward();
    const { key, main } = await boundDevice(kw);
    const now = Math.floor(kw.clock.now() / 1000);
    const claims = (extra: Record<string, unknown> = {}) => ({ htm: "GET", htu: ME, iat: now, jti: crypto.randomUUID(), ath: ath(main), ...extra });
    const hmac = async () => {
      const input = `${b64({ alg: "HS256", typ: "dpop+jwt", jwk: key.publicJwk })}.${b64(claims())}`;
      const secret = await crypto.subtle.importKey("raw", new TextEncoder().encode(JSON.stringify(key.publicJwk)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      return `${input}.${Buffer.from(await crypto.subtle.sign("HMAC", secret, new TextEncoder().encode(input))).toString("base64url")}`;
    };
    const cases: [string, () => Promise<string>][] = [
      ["alg none", async () => `${b64({ alg: "none", typ: "dpop+jwt", jwk: key.publicJwk })}.${b64(claims())}.`],
      ["HS256 keyed with the public JWK", hmac],
      ["ES256K named", () => rawProof(key, { alg: "ES256K" }, claims())],
      ["RS256 named", () => rawProof(key, { alg: "RS256" }, claims())],
      ["jwk a string", () => rawProof(key, { jwk: JSON.stringify(key.publicJwk) }, claims())],
      ["jwk an array", () => rawProof(key, { jwk: [key.publicJwk] }, claims())],
      ["jwk null", () => rawProof(key, { jwk: null }, claims())],
      ["jwk with use enc", () => rawProof(key, { jwk: { ...key.publicJwk, use: "enc" } }, claims())],
      ["jwk of another curve", () => rawProof(key, { jwk: { ...key.publicJwk, crv: "P-384" } }, claims())],
      ["a 3 kB jwk", () => rawProof(key, { jwk: { ...key.publicJwk, pad: "x".repeat(3_000) } }, claims())],
      ["a nested JWS as payload", async () => rawProof(key, { cty: "JWT" }, { nested: await rawProof(key, {}, claims()) })],
      ["crit with an unknown member", () => rawProof(key, { crit: ["x-unknown"], "x-unknown": 1 }, claims())],
      ["exp in the past", () => rawProof(key, {}, claims({ exp: now - 1 }))],
      ["nbf in the future", () => rawProof(key, {}, claims({ nbf: now + 60 }))],
      ["iat a string", () => rawProof(key, {}, claims({ iat: String(now) }))],
      ["iat 1e308", () => rawProof(key, {}, claims({ iat: 1e308 }))],
      ["iat negative", () => rawProof(key, {}, claims({ iat: -now }))],
      ["iat missing", () => rawProof(key, {}, { htm: "GET", htu: ME, jti: "j", ath: ath(main) })],
      ["htm lowercase", () => rawProof(key, {}, claims({ htm: "get" }))],
      ["htm an array", () => rawProof(key, {}, claims({ htm: ["GET"] }))],
      ["htu an object", () => rawProof(key, {}, claims({ htu: { href: ME } }))],
      ["htu not a URL", () => rawProof(key, {}, claims({ htu: "/api/v1/me" }))],
      ["htu with a trailing slash", () => rawProof(key, {}, claims({ htu: `${ME}/` }))],
      ["htu percent-encoded path", () => rawProof(key, {}, claims({ htu: `${ORIGIN}/api/v1/%6De` }))],
      ["htu https for an http request", () => rawProof(key, {}, claims({ htu: "https://localhost/api/v1/me" }))],
      ["htu with another port", () => rawProof(key, {}, claims({ htu: "http://localhost:8080/api/v1/me" }))],
      ["htu of a non-special scheme", () => rawProof(key, {}, claims({ htu: "foo://localhost/api/v1/me" }))],
      ["jti a number", () => rawProof(key, {}, claims({ jti: 7 }))],
      ["ath a number", () => rawProof(key, {}, claims({ ath: 1 }))],
      ["ath of the short token", () => rawProof(key, {}, claims({ ath: ath("x".repeat(32)) }))],
      ["a signature over another payload", async () => `${(await rawProof(key, {}, claims())).split(".").slice(0, 2).join(".")}.${(await rawProof(key, {}, claims({ jti: "other" }))).split(".")[2]}`],
      ["a 5,000-character header", async () => `${"A".repeat(5_000)}.e30.AAAA`],
      ["not base64url JSON", async () => "e30.bm90IGpzb24.AAAA"],
    ];
    for (const [what, proof] of cases) {
      const reply = await kw.call("GET", ME, { authorization: `DPoP ${main}`, dpop: await proof() });
      expect([what, reply.status, reply.body.code]).toEqual([what, 401, "invalid_dpop_proof"]);
    }
  });

  test("URL spellings that name this very URL pass (default port, host case, userinfo, dot segments): the same resource, and the jti is still spent once", async () => {
    const kw = await keyward();
    const { key, main } = await boundDevice(kw);
    for (const htu of ["http://LOCALHOST/api/v1/me", "http://localhost:80/api/v1/me", "http://a:b@localhost/api/v1/me", "http://localhost/x/../api/v1/me"]) {
      const proof = await kw.proofBy(key, { method: "GET", url: htu, token: main });
      expect([htu, (await kw.call("GET", ME, { authorization: `DPoP ${main}`, dpop: proof })).status]).toEqual([htu, 200]);
      expect([htu, (await kw.call("GET", ME, { authorization: `DPoP ${main}`, dpop: proof })).status]).toEqual([htu, 401]);
    }
  });

  test("typ is compared as a media type: application/dpop+jwt and DPOP+JWT pass (RFC 7515 §4.1.9), dpop+jws does not", async () => {
    const kw = await keyward();
    const { key, main } = await boundDevice(kw);
    for (const [typ, status] of [["application/dpop+jwt", 200], ["DPOP+JWT", 200], ["dpop+jws", 401], ["jwt", 401]] as const) {
      const reply = await kw.call("GET", ME, { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "GET", url: ME, token: main, header: { typ } }) });
      expect([typ, reply.status]).toEqual([typ, status]);
    }
  });

  test("a bound main token through every other door: Bearer, query, cookie, echo, metrics, introspection as caller", async () => {
    const kw = await keyward({ KEYWARD_METRICS_PUBLIC: "false" });
    const { key, main } = await boundDevice(kw);
    const proof = () => kw.proofBy(key, { method: "GET", url: ME, token: main });
    const forwarded = { "x-forwarded-method": "GET", "x-forwarded-proto": "http", "x-forwarded-host": "localhost", "x-forwarded-uri": "/api/v1/me" };
    const doors: [string, () => Promise<Reply>][] = [
      ["Bearer with the fingerprint and a good proof", async () => kw.call("GET", ME, { authorization: `Bearer ${main}`, "x-hardware-fingerprint": "fp-sensor", dpop: await proof() })],
      ["?token= with the fingerprint and a good proof", async () => kw.call("GET", `${ME}?token=${main}`, { "x-hardware-fingerprint": "fp-sensor", dpop: await proof() })],
      ["DPoP with a tab", async () => kw.call("GET", ME, { authorization: `DPoP\t${main}`, dpop: await proof() })],
      ["/data as Bearer", async () => kw.call("GET", "/data", { authorization: `Bearer ${main}`, "x-hardware-fingerprint": "fp-sensor" })],
      ["forward auth, keyward_token cookie", async () => kw.call("GET", "/auth/forward", { cookie: `keyward_token=${main}`, "x-hardware-fingerprint": "fp-sensor", dpop: await proof(), ...forwarded })],
      ["forward auth, ?token= in X-Forwarded-Uri", async () => kw.call("GET", "/auth/request", { ...forwarded, "x-forwarded-uri": `/api/v1/me?token=${main}`, "x-hardware-fingerprint": "fp-sensor", dpop: await proof() })],
      ["/echo as DPoP", async () => kw.call("POST", "/echo", { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "POST", url: `${ORIGIN}/echo`, token: main }) }, {})],
      ["/metrics as DPoP", async () => kw.call("GET", "/metrics", { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "GET", url: `${ORIGIN}/metrics`, token: main }) })],
      ["/oauth/introspect as the caller", async () => kw.call("POST", "/oauth/introspect", { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "POST", url: `${ORIGIN}/oauth/introspect`, token: main }) }, { token: main })],
      ["admin route with a good proof", async () => kw.call("GET", "/api/v1/devices", { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "GET", url: `${ORIGIN}/api/v1/devices`, token: main }) })],
    ];
    for (const [what, run] of doors) {
      const reply = await run();
      expect([what, reply.status < 400]).toEqual([what, false]);
      expect([what, reply.status]).not.toEqual([what, 500]);
    }
  });
});

/** The core's key rules over a clock the test sets, with a replay cache of `capacity`. */
function keysAt(limits: Partial<ReplayLimits> = {}) {
  let at = Date.UTC(2026, 10, 28, 12, 0, 0);
  const keys = keyBinding(new DpopProofs(new ProofReplays({ ...REPLAY_LIMITS, ...limits })), () => at);
  const request = (proof: string): ProofRequest => ({ dpopScheme: true, proof, method: "GET", uris: [ME] });
  return { keys, request, now: () => at, set: (ms: number) => (at = ms) };
}

describe("held: the clock's edges", () => {
  test("a proof passes up to 60 s old and 5 s ahead, and not a millisecond past either", async () => {
    const clock = keysAt();
    const key = await deviceKey();
    const iat = clock.now() / 1000;
    const cases: [number, boolean][] = [
      [iat * 1000 + 60_000, true],
      [iat * 1000 + 60_001, false],
      [iat * 1000 - 5_000, true],
      [iat * 1000 - 5_001, false],
    ];
    for (const [at, passes] of cases) {
      clock.set(at);
      const found = await clock.keys.main(key.thumbprint, "t.o.k", clock.request(await key.proof({ method: "GET", url: ME, token: "t.o.k", iat })));
      expect([at - iat * 1000, found === null]).toEqual([at - iat * 1000, passes]);
    }
  });
});

describe("found: replays and the replay cache", () => {
  test("a captured proof replayed at exactly iat + 60 s, the last millisecond it passes, is refused (its entry outlives it by one)", async () => {
    const clock = keysAt();
    const key = await deviceKey();
    const iat = clock.now() / 1000;
    const proof = await key.proof({ method: "GET", url: ME, token: "t.o.k", iat });
    expect(await clock.keys.main(key.thumbprint, "t.o.k", clock.request(proof))).toBeNull();
    clock.set(iat * 1000 + 60_000);
    const replayed = await clock.keys.main(key.thumbprint, "t.o.k", clock.request(proof));
    expect(replayed?.reason).toBe("invalid_dpop_proof");
  });

  test("one device's own proofs crowding the cache leave every other device passing", async () => {
    // One self-enrolled device (open policy, the default) sent ~2,800 proofs/s on a 2-core box (iat
    // 4 s ahead keeps each 64 s): with one cap for all it filled the cache in ~35 s and every other
    // device was refused "busy". Now a crowded cache still takes a quiet key's proofs.
    const clock = keysAt({ crowded: 50, capacity: 60 });
    const flooder = await deviceKey("Ed25519");
    const victim = await deviceKey();
    for (let i = 0; i < 50; i++) {
      const proof = await flooder.proof({ method: "GET", url: ME, token: "t.o.k", iat: clock.now() / 1000 + 4 });
      expect(await clock.keys.main(flooder.thumbprint, "t.o.k", clock.request(proof))).toBeNull();
    }
    const honest = await clock.keys.main(victim.thumbprint, "t.o.k", clock.request(await victim.proof({ method: "GET", url: ME, token: "t.o.k", iat: clock.now() / 1000 })));
    expect(honest).toBeNull();
  });
});

describe("found: binding a stranger's key to an unbound device under the open policy", () => {
  test("an unbound device (no DPoP support) re-enrolls as it always did after a stranger tried to enroll its fingerprint with a key", async () => {
    const kw = await keyward();
    const legacy = await kw.enroll("fp-legacy", null);
    expect(legacy.status).toBe(201);
    // A stranger's key would have bound the device for good (until an admin's reset): refused while it holds tokens.
    const stranger = await kw.enroll("fp-legacy", await deviceKey());
    expect([stranger.status, stranger.body.code]).toEqual([401, "device_binding_needs_token"]);
    const again = await kw.enroll("fp-legacy", null);
    expect([again.status, again.body.code]).toEqual([201, undefined]);
  });
});

describe("found: htu under a host no trusted proxy named", () => {
  test("with KEYWARD_PUBLIC_URL set and no trusted proxy, a proof made for another server is refused even when the client names that server in X-Forwarded-Host", async () => {
    const kw = await keyward({ KEYWARD_PUBLIC_URL: "https://auth.home.lan" });
    const key = await deviceKey();
    const enrolled = await kw.call("POST", ENROLL, { dpop: await kw.proofBy(key, { method: "POST", url: "https://auth.home.lan/api/v1/tokens/main" }) }, { hardware_fingerprint: "fp-sensor" });
    expect(enrolled.status).toBe(201);
    const main = enrolled.body.main_token as string;
    // A resource server that checks DPoP itself (with introspection's cnf.jkt) never spends the jti here.
    const forResourceServer = await kw.proofBy(key, { method: "GET", url: "https://rs.home.lan/api/v1/me", token: main });
    const replayed = await kw.call("GET", ME, { authorization: `DPoP ${main}`, dpop: forResourceServer, "x-forwarded-proto": "https", "x-forwarded-host": "rs.home.lan" });
    expect(replayed.status).toBe(401);
  });

  test("forward auth asked directly by a client (not a trusted proxy) does not take its forwarded URL for a proof made for another server", async () => {
    const kw = await keyward({ KEYWARD_TRUSTED_PROXIES: "10.0.0.1" });
    const { key, main } = await boundDevice(kw);
    const forResourceServer = await kw.proofBy(key, { method: "DELETE", url: "https://rs.home.lan/photos/1", token: main });
    const forwarded = { "x-forwarded-method": "DELETE", "x-forwarded-proto": "https", "x-forwarded-host": "rs.home.lan", "x-forwarded-uri": "/photos/1" };
    const replayed = await kw.call("GET", "/auth/forward", { authorization: `DPoP ${main}`, dpop: forResourceServer, ...forwarded });
    expect(replayed.status).toBe(401);
  });
});
