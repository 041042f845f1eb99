import { describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import { ADMIN_TOKEN } from "../helpers/api";
import { boundDevice, dpopApp, type DpopApp, ENROLL, ME, ORIGIN, VERIFY } from "../helpers/dpop-app";
import { deviceKey, type ProofOptions } from "../helpers/dpop-device";

type Reply = Awaited<ReturnType<DpopApp["call"]>>;
const keyward = dpopApp;

describe("enrolling with a key", () => {
  test.each(["ES256", "Ed25519"] as const)("%s: the main token carries cnf.jkt, the device keeps the thumbprint, and /api/v1/me and verify pass with proofs", async (alg) => {
    const kw = await keyward();
    const { key, main, short, id, enrolled } = await boundDevice(kw, "fp-sensor", alg);
    expect(enrolled.body.key_thumbprint).toBe(key.thumbprint);
    expect(decodeJwt(main).cnf).toEqual({ jkt: key.thumbprint });
    const devices = await kw.admin("GET", "/api/v1/devices");
    expect(devices.body[0]).toMatchObject({ id, key_thumbprint: key.thumbprint });
    const mine = await kw.me(main, key);
    expect([mine.status, mine.body.user, mine.body.role]).toEqual([200, id, "device"]);
    const verified = await kw.verify(short, key);
    expect([verified.status, verified.body]).toEqual([200, { valid: true, hardware_fingerprint: "fp-sensor" }]);
  });

  test("a DPoP header alone binds its key; public_jwk must be that key, proven, and public", async () => {
    const kw = await keyward();
    const key = await deviceKey();
    const other = await deviceKey();
    const cases: [string, () => Promise<Reply>, number, string][] = [
      ["public_jwk without a proof", () => kw.call("POST", "/api/v1/tokens/main", {}, { hardware_fingerprint: "fp-a", public_jwk: key.publicJwk }), 401, "dpop_required"],
      ["public_jwk of another key than the proof's", () => kw.enroll("fp-a", key, { body: { public_jwk: other.publicJwk } }), 401, "invalid_dpop_proof"],
      ["a private member in public_jwk", () => kw.enroll("fp-a", key, { body: { public_jwk: { ...key.publicJwk, d: "AAAA" } } }), 422, "validation_failed"],
      ["an RSA key", () => kw.enroll("fp-a", key, { body: { public_jwk: { kty: "RSA", n: "AQAB", e: "AQAB" } } }), 422, "validation_failed"],
    ];
    for (const [what, run, status, code] of cases) {
      const reply = await run();
      expect([what, reply.status, reply.body.code]).toEqual([what, status, code]);
    }
    expect((await kw.admin("GET", "/api/v1/devices")).body).toEqual([]);
    const proofOnly = await kw.call("POST", "/api/v1/tokens/main", { dpop: await kw.proofBy(key, { method: "POST", url: ENROLL }) }, { hardware_fingerprint: "fp-a" });
    expect([proofOnly.status, proofOnly.body.key_thumbprint]).toEqual([201, key.thumbprint]);
  });

  test("an enrollment proof is held to the enrollment: method, URL, age, one use", async () => {
    const kw = await keyward();
    const key = await deviceKey();
    const now = () => Math.floor(kw.clock.now() / 1000);
    const sent = async (options: Partial<ProofOptions>) =>
      kw.call("POST", "/api/v1/tokens/main", { dpop: await key.proof({ method: "POST", url: ENROLL, iat: now(), ...options }) }, { hardware_fingerprint: "fp-b" });
    for (const options of [{ method: "GET" }, { url: `${ORIGIN}/api/v1/tokens/verify` }, { iat: now() - 61 }, { iat: now() + 30 }]) {
      const reply = await sent(options);
      expect([JSON.stringify(options), reply.status, reply.body.code]).toEqual([JSON.stringify(options), 401, "invalid_dpop_proof"]);
    }
    const proof = await key.proof({ method: "POST", url: ENROLL, iat: now() });
    const first = await kw.call("POST", "/api/v1/tokens/main", { dpop: proof }, { hardware_fingerprint: "fp-b" });
    const again = await kw.call("POST", "/api/v1/tokens/main", { dpop: proof }, { hardware_fingerprint: "fp-b" });
    expect([first.status, again.status, again.body.code]).toEqual([201, 401, "invalid_dpop_proof"]);
    expect(again.body.error).toContain("used before");
  });
});

describe("a key-bound main token", () => {
  test("each wrong way of presenting it is refused with 401 and a DPoP challenge", async () => {
    const kw = await keyward();
    const { key, main } = await boundDevice(kw);
    const other = await deviceKey();
    const now = Math.floor(kw.clock.now() / 1000);
    const reused = await kw.proofBy(key, { method: "GET", url: ME, token: main });
    expect((await kw.call("GET", "/api/v1/me", { authorization: `DPoP ${main}`, dpop: reused })).status).toBe(200);
    const cases: [string, () => Promise<Reply>, string][] = [
      ["as Bearer with its fingerprint", () => kw.call("GET", "/api/v1/me", { authorization: `Bearer ${main}`, "x-hardware-fingerprint": "fp-sensor" }), "dpop_required"],
      ["as DPoP with no proof", () => kw.call("GET", "/api/v1/me", { authorization: `DPoP ${main}` }), "dpop_required"],
      ["a proof by another key", () => kw.me(main, other), "invalid_dpop_proof"],
      ["a proof for another method", () => kw.me(main, key, { method: "POST" }), "invalid_dpop_proof"],
      ["a proof for another URL", () => kw.me(main, key, { url: `${ORIGIN}/data` }), "invalid_dpop_proof"],
      ["a proof for another host", () => kw.me(main, key, { url: "http://elsewhere.lan/api/v1/me" }), "invalid_dpop_proof"],
      ["a proof 61 seconds old", () => kw.me(main, key, { iat: now - 61 }), "invalid_dpop_proof"],
      ["a proof from the future", () => kw.me(main, key, { iat: now + 60 }), "invalid_dpop_proof"],
      ["a replayed proof", () => kw.call("GET", "/api/v1/me", { authorization: `DPoP ${main}`, dpop: reused }), "invalid_dpop_proof"],
      ["a proof without ath", () => kw.me(main, key, { token: undefined }), "invalid_dpop_proof"],
      ["a proof for another token", () => kw.me(main, key, { token: `${main}x` }), "invalid_dpop_proof"],
      ["a proof typed JWT", () => kw.me(main, key, { header: { typ: "JWT" } }), "invalid_dpop_proof"],
      ["a proof without jti", () => kw.me(main, key, { jti: "" }), "invalid_dpop_proof"],
      ["a proof with a 129-character jti", () => kw.me(main, key, { jti: "j".repeat(129) }), "invalid_dpop_proof"],
      ["a proof whose jwk header is not its signer's", () => kw.me(main, key, { header: { jwk: other.publicJwk } }), "invalid_dpop_proof"],
      ["a proof whose jwk carries a private member", () => kw.me(main, key, { header: { jwk: { ...key.publicJwk, d: "AAAA" } } }), "invalid_dpop_proof"],
      [
        "two DPoP headers",
        async () => {
          const headers = new Headers({ authorization: `DPoP ${main}` });
          headers.append("dpop", await kw.proofBy(key, { method: "GET", url: ME, token: main }));
          headers.append("dpop", await kw.proofBy(key, { method: "GET", url: ME, token: main }));
          const res = await kw.app.handle(new Request(ME, { headers }));
          return { status: res.status, body: await res.json(), headers: res.headers };
        },
        "invalid_dpop_proof",
      ],
      ["an unsigned proof", () => kw.call("GET", "/api/v1/me", { authorization: `DPoP ${main}`, dpop: `${btoa(JSON.stringify({ alg: "none", typ: "dpop+jwt" }))}.e30.` }), "invalid_dpop_proof"],
    ];
    for (const [what, run, code] of cases) {
      const reply = await run();
      expect([what, reply.status, reply.body.code]).toEqual([what, 401, code]);
      expect([what, reply.headers.get("www-authenticate")]).toEqual([what, expect.stringMatching(/^DPoP realm="keyward", error="(invalid_token|invalid_dpop_proof)", algs="ES256 EdDSA Ed25519"$/)]);
    }
    // Each refusal was audited against the device, none leaked the proof.
    await kw.flush();
    const failures = (await kw.admin("GET", "/api/v1/audit?action=auth.failed&limit=100")).body;
    const counted = failures.filter((row: { detail: string }) => row.detail.startsWith("device ")).reduce((sum: number, row: { count: number }) => sum + row.count, 0);
    expect(counted).toBe(cases.length);
    expect(JSON.stringify(failures)).not.toContain(reused.slice(0, 40));
  });

  test("a proof names the request's Host, its query no part of it; a forwarded host counts only from a trusted proxy", async () => {
    const kw = await keyward();
    const { key, main } = await boundDevice(kw);
    expect((await kw.me(main, key, { url: `${ME}?x=1#frag` })).status).toBe(200);
    const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "auth.home.lan" };
    const untrusted = await kw.me(main, key, { url: "https://auth.home.lan/api/v1/me" }, forwarded);
    expect([untrusted.status, untrusted.body.error]).toEqual([401, "The DPoP proof's htu is not this request's URL: http://localhost/api/v1/me (without the query)"]);
    const behindProxy = await keyward({ KEYWARD_TRUSTED_PROXIES: "127.0.0.1" });
    const device = await boundDevice(behindProxy);
    expect((await behindProxy.me(device.main, device.key, { url: "https://auth.home.lan/api/v1/me" }, forwarded)).status).toBe(200);
  });

  test("with KEYWARD_PUBLIC_URL set, a proof names it, not whatever Host the client sent", async () => {
    const kw = await keyward({ KEYWARD_PUBLIC_URL: "https://keyward.home.lan" });
    const key = await deviceKey();
    const enrolled = await kw.call("POST", "/api/v1/tokens/main", { dpop: await kw.proofBy(key, { method: "POST", url: "https://keyward.home.lan/api/v1/tokens/main" }) }, { hardware_fingerprint: "fp-public" });
    expect(enrolled.status).toBe(201);
    const main = enrolled.body.main_token as string;
    expect((await kw.me(main, key, { url: "https://keyward.home.lan/api/v1/me?x=1" })).status).toBe(200);
    for (const url of [ME, "http://keyward.home.lan/api/v1/me", "https://rs.home.lan/api/v1/me"]) {
      const refused = await kw.me(main, key, { url }, { host: new URL(url).host, "x-forwarded-proto": "https", "x-forwarded-host": "rs.home.lan" });
      expect([url, refused.status, refused.body.code]).toEqual([url, 401, "invalid_dpop_proof"]);
    }
  });

  test("proof failures are audited but never lock out the address: a signature cannot be guessed", async () => {
    const kw = await keyward({ KEYWARD_MAX_FAILURES: "3" });
    const { key, main } = await boundDevice(kw);
    const stale = Math.floor(kw.clock.now() / 1000) - 120;
    for (let i = 0; i < 10; i++) expect((await kw.me(main, key, { iat: stale })).status).toBe(401);
    expect((await kw.me(main, key)).status).toBe(200);
    const guess = await kw.call("GET", "/api/v1/me", { authorization: "Bearer not-a-token" });
    expect(guess.status).toBe(401);
  });

  test("an unbound device token is refused as DPoP, and works as Bearer with its fingerprint as before", async () => {
    const kw = await keyward();
    const enrolled = await kw.enroll("fp-plain", null);
    expect([enrolled.status, enrolled.body.key_thumbprint]).toEqual([201, undefined]);
    const main = enrolled.body.main_token as string;
    expect(decodeJwt(main).cnf).toBeUndefined();
    const asBearer = await kw.call("GET", "/api/v1/me", { authorization: `Bearer ${main}`, "x-hardware-fingerprint": "fp-plain" });
    expect(asBearer.status).toBe(200);
    const asDpop = await kw.me(main, await deviceKey());
    expect([asDpop.status, asDpop.body.code]).toEqual([401, "invalid_dpop_proof"]);
    expect((await kw.verify(enrolled.body.short_token, null)).status).toBe(200);
    const admins = await kw.call("GET", "/api/v1/me", { authorization: `DPoP ${ADMIN_TOKEN}` });
    expect(admins.status).toBe(401);
  });

  test("a fingerprint sent with a DPoP token must still match", async () => {
    const kw = await keyward();
    const { key, main } = await boundDevice(kw);
    expect((await kw.me(main, key, {}, { "x-hardware-fingerprint": "fp-sensor" })).status).toBe(200);
    const wrong = await kw.me(main, key, {}, { "x-hardware-fingerprint": "fp-other" });
    expect([wrong.status, wrong.body.code]).toEqual([403, "fingerprint_mismatch"]);
  });
});

describe("a key-bound device's short token", () => {
  test("verifies only with a proof by the key for the verify call; a leaked short token alone is useless", async () => {
    const kw = await keyward();
    const { key, short } = await boundDevice(kw);
    const other = await deviceKey();
    const cases: [string, () => Promise<Reply>, number, string | null][] = [
      ["no proof", () => kw.verify(short, null), 401, "dpop_required"],
      ["no proof, with the fingerprint", () => kw.verify(short, null, {}, "&hardware_fingerprint=fp-sensor"), 401, "dpop_required"],
      ["another key", () => kw.verify(short, other), 401, "invalid_dpop_proof"],
      ["a proof for POST", () => kw.verify(short, key, { method: "POST" }), 401, "invalid_dpop_proof"],
      ["a proof for /api/v1/me", () => kw.verify(short, key, { url: ME }), 401, "invalid_dpop_proof"],
      ["an ath of another token", () => kw.verify(short, key, { token: "x".repeat(32) }), 401, "invalid_dpop_proof"],
      ["an ath of the short token", () => kw.verify(short, key, { token: short }), 200, null],
      ["no ath, the query in htu", () => kw.verify(short, key, { url: `${VERIFY}?short_token=${short}` }), 200, null],
      ["with the fingerprint", () => kw.verify(short, key, {}, "&hardware_fingerprint=fp-sensor"), 200, null],
    ];
    for (const [what, run, status, code] of cases) {
      const reply = await run();
      expect([what, reply.status, reply.body.code ?? null]).toEqual([what, status, code]);
    }
  });

  test("introspection tells a resource server the key (cnf.jkt) of bound main and short tokens", async () => {
    const kw = await keyward();
    const { key, main, short } = await boundDevice(kw);
    const plain = await kw.enroll("fp-plain", null);
    const introspect = async (token: string) => {
      const res = await kw.app.handle(
        new Request(`${ORIGIN}/oauth/introspect`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/x-www-form-urlencoded" }, body: `token=${token}` }),
      );
      return res.json();
    };
    for (const token of [main, short]) expect(await introspect(token)).toMatchObject({ active: true, token_type: "device", cnf: { jkt: key.thumbprint } });
    expect((await introspect(plain.body.main_token)).cnf).toBeUndefined();
  });
});

describe("re-enrolling a key-bound fingerprint", () => {
  test.each(["open", "token"] as const)("under %s: only a proof by the current key yields tokens; any other enrollment gets none and leaves the device intact", async (policy) => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: policy });
    const key = await deviceKey();
    const first = await kw.enroll("fp-door", key, { headers: policy === "token" ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {} });
    expect(first.status).toBe(201);
    const { main_token: main, short_token: short } = first.body;
    const thief = await deviceKey();
    const asUser: Record<string, string> = policy === "token" ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {};
    for (const [what, attempt] of [
      ["no key", () => kw.enroll("fp-door", null, { headers: asUser })],
      ["another key", () => kw.enroll("fp-door", thief, { headers: asUser })],
    ] as const) {
      const reply = await attempt();
      expect([what, reply.status, reply.body.code]).toEqual([what, 401, "device_key_mismatch"]);
    }
    expect((await kw.me(main, key)).status).toBe(200);
    expect((await kw.verify(short, key)).status).toBe(200);
    // The device renews: as itself, with its bound token and a proof naming it (token), or with its key (open).
    const renewal =
      policy === "token"
        ? await kw.call(
            "POST",
            "/api/v1/tokens/main",
            { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "POST", url: ENROLL, token: main }) },
            { hardware_fingerprint: "fp-door" },
          )
        : await kw.enroll("fp-door", key);
    expect([renewal.status, renewal.body.key_thumbprint]).toEqual([201, key.thumbprint]);
    expect((await kw.me(main, key)).status).toBe(401);
    expect((await kw.me(renewal.body.main_token, key)).status).toBe(200);
  });

  test("an admin's reset unbinds the key, and the next enrollment binds a new one", async () => {
    const kw = await keyward();
    const { key, id, main } = await boundDevice(kw);
    const reset = await kw.admin("POST", `/api/v1/devices/${id}/reset`);
    expect([reset.status, reset.body.key_thumbprint]).toEqual([200, null]);
    expect((await kw.me(main, key)).status).toBe(401);
    const replacement = await deviceKey();
    const again = await kw.enroll("fp-sensor", replacement);
    expect([again.status, again.body.key_thumbprint]).toEqual([201, replacement.thumbprint]);
  });

  test("under approval the key of the first request is the one that collects the tokens", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: "approval" });
    const key = await deviceKey();
    const pending = await kw.enroll("fp-kiosk", key);
    expect(pending.status).toBe(202);
    const secret = pending.body.enrollment_secret as string;
    expect((await kw.admin("POST", `/api/v1/devices/${pending.body.device_id}/approve`)).status).toBe(200);
    const stranger = await kw.enroll("fp-kiosk", await deviceKey(), { body: { enrollment_secret: secret } });
    expect([stranger.status, stranger.body.code]).toEqual([401, "device_key_mismatch"]);
    const collected = await kw.enroll("fp-kiosk", key, { body: { enrollment_secret: secret } });
    expect([collected.status, collected.body.key_thumbprint]).toEqual([201, key.thumbprint]);
  });

  test.each(["open", "token"] as const)("under %s an unbound device holding tokens is bound to a key only by renewing with its main token", async (policy) => {
    const kw = await keyward({ KEYWARD_DEVICE_ENROLLMENT: policy });
    const asUser: Record<string, string> = policy === "token" ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {};
    const plain = await kw.enroll("fp-upgrade", null, { headers: asUser });
    const main = plain.body.main_token as string;
    const key = await deviceKey();
    const stranger = await kw.enroll("fp-upgrade", key, { headers: asUser });
    expect([stranger.status, stranger.body.code]).toEqual(policy === "open" ? [401, "device_binding_needs_token"] : [403, "device_already_enrolled"]);
    expect((await kw.call("GET", "/api/v1/me", { authorization: `Bearer ${main}`, "x-hardware-fingerprint": "fp-upgrade" })).status).toBe(200);
    const renewed = await kw.enroll("fp-upgrade", key, { headers: { authorization: `Bearer ${main}` } });
    expect([renewed.status, renewed.body.key_thumbprint]).toEqual([201, key.thumbprint]);
    const old = await kw.call("GET", "/api/v1/me", { authorization: `Bearer ${main}`, "x-hardware-fingerprint": "fp-upgrade" });
    expect(old.status).toBe(401);
    expect((await kw.enroll("fp-upgrade", null, { headers: asUser })).status).toBe(401);
  });

  test("under open a keyless device re-enrolls as it always did, whoever tried to bind a key to it", async () => {
    const kw = await keyward();
    expect((await kw.enroll("fp-legacy", null)).status).toBe(201);
    expect((await kw.enroll("fp-legacy", await deviceKey())).status).toBe(401);
    const again = await kw.enroll("fp-legacy", null);
    expect([again.status, again.body.key_thumbprint]).toEqual([201, undefined]);
  });

  test("enrollments of a new fingerprint racing with six keys: the first key to enroll keeps it, and only its tokens work", async () => {
    const kw = await keyward();
    const keys = await Promise.all(Array.from({ length: 6 }, () => deviceKey()));
    const replies = await Promise.all(keys.map((key) => kw.enroll("fp-race", key)));
    const winners = replies.flatMap((reply, i) => (reply.status === 201 ? [{ key: keys[i]!, main: reply.body.main_token as string }] : []));
    expect(winners.length).toBeGreaterThanOrEqual(1);
    const device = (await kw.admin("GET", "/api/v1/devices")).body[0];
    const working: string[] = [];
    for (const winner of winners) if ((await kw.me(winner.main, winner.key)).status === 200) working.push(winner.key.thumbprint);
    expect(working).toEqual([device.key_thumbprint]);
    for (const reply of replies) expect([201, 401]).toContain(reply.status);
  });
});

describe("KEYWARD_DEVICE_REQUIRE_KEY", () => {
  test("an enrollment without a key gets 401 and leaves no row; with one it is enrolled", async () => {
    const kw = await keyward({ KEYWARD_DEVICE_REQUIRE_KEY: "true" });
    const refused = await kw.enroll("fp-new", null);
    expect([refused.status, refused.body.code, refused.headers.get("www-authenticate")]).toEqual([401, "device_key_required", 'DPoP realm="keyward", algs="ES256 EdDSA Ed25519"']);
    expect((await kw.admin("GET", "/api/v1/devices")).body).toEqual([]);
    const key = await deviceKey();
    expect((await kw.enroll("fp-new", key)).status).toBe(201);
  });
});

describe("forward auth with a key-bound token", () => {
  const forwarded = (uri: string, method = "GET") => ({ "x-forwarded-method": method, "x-forwarded-proto": "https", "x-forwarded-host": "nas.home.lan", "x-forwarded-uri": uri });

  test("the proof names the proxied request, rebuilt from the proxy's forwarded method and URI", async () => {
    const kw = await keyward();
    const { key, main, id } = await boundDevice(kw);
    const ask = async (headers: Record<string, string>, proof: Partial<ProofOptions>) =>
      kw.call("GET", "/auth/forward", { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "GET", url: "https://nas.home.lan/files", token: main, ...proof }), ...headers });
    const ok = await ask(forwarded("/files?page=2"), {});
    expect([ok.status, ok.headers.get("remote-user")]).toEqual([200, id]);
    const nginx = { "x-original-method": "GET", "x-original-url": "https://nas.home.lan/files?page=2" };
    expect((await ask(nginx, {})).status).toBe(200);
    expect((await ask({ ...forwarded("/files"), ...nginx }, {})).status).toBe(200);
    const cases: [string, Record<string, string>, Partial<ProofOptions>][] = [
      ["another service's URL", forwarded("/files"), { url: "https://photos.home.lan/files" }],
      ["another method", forwarded("/files", "DELETE"), {}],
      ["a proxy that forwards no method", { "x-forwarded-proto": "https", "x-forwarded-host": "nas.home.lan", "x-forwarded-uri": "/files" }, {}],
      ["a proxy that forwards nothing", {}, {}],
      // Each proxy replaces its own pair and passes the other on from the client.
      ["the other pair naming another method", { ...forwarded("/files", "DELETE"), ...nginx }, {}],
      ["the other pair naming another URL", { ...forwarded("/files"), "x-original-url": "https://nas.home.lan/admin" }, {}],
      ["the other pair naming the proof's method, the proxy's another", { ...forwarded("/files"), "x-original-method": "DELETE" }, { method: "DELETE" }],
    ];
    for (const [what, headers, proof] of cases) {
      const reply = await ask(headers, proof);
      expect([what, reply.status, reply.body.code]).toEqual([what, 401, "invalid_dpop_proof"]);
    }
    const bearer = await kw.call("GET", "/auth/forward", { authorization: `Bearer ${main}`, "x-hardware-fingerprint": "fp-sensor", ...forwarded("/files") });
    expect([bearer.status, bearer.body.code]).toEqual([401, "dpop_required"]);
  });

  test("with KEYWARD_TRUSTED_PROXIES set, a caller that is not one of them names no URL a proof could match", async () => {
    const kw = await keyward({ KEYWARD_TRUSTED_PROXIES: "10.0.0.1" });
    const { key, main } = await boundDevice(kw);
    const asked = await kw.call("GET", "/auth/forward", { authorization: `DPoP ${main}`, dpop: await kw.proofBy(key, { method: "GET", url: "https://nas.home.lan/files", token: main }), ...forwarded("/files") });
    expect([asked.status, asked.body.code, asked.body.error]).toEqual([401, "invalid_dpop_proof", expect.stringContaining("KEYWARD_TRUSTED_PROXIES")]);
  });
});
