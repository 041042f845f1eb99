import { describe, expect, test } from "bun:test";
import { benchDeviceKey } from "../../bench/dpop";
import { jsonPost } from "../helpers/api";
import { inProcessApp } from "../helpers/app";

const ORIGIN = "http://localhost";

/**
 * The benchmark signs its DPoP proofs with its own code (bench/dpop.ts), not the tests' helper: a
 * run whose proofs Keyward refused would measure refusals, so they are held to the real check here.
 */
describe("the benchmark's DPoP proofs", () => {
  test("bind a device, pass the short-token check and /api/v1/me, and each passes once", async () => {
    const kw = await inProcessApp();
    const key = await benchDeviceKey();
    const enrolled = await kw.fetch("/api/v1/tokens/main", jsonPost({ hardware_fingerprint: "fp-bench" }, { dpop: key.proof({ method: "POST", url: `${ORIGIN}/api/v1/tokens/main` }) }));
    const { main_token: main, short_token: short, key_thumbprint } = (await enrolled.json()) as Record<string, string>;
    expect([enrolled.status, key_thumbprint]).toEqual([201, key.thumbprint]);

    const verify = (dpop: string) => kw.fetch(`/api/v1/tokens/verify?short_token=${short}&hardware_fingerprint=fp-bench`, { headers: { dpop } });
    const me = (dpop: string) => kw.fetch("/api/v1/me", { headers: { authorization: `DPoP ${main}`, dpop } });
    const verifyProof = key.proof({ method: "GET", url: `${ORIGIN}/api/v1/tokens/verify` });
    const meProof = key.proof({ method: "GET", url: `${ORIGIN}/api/v1/me`, token: main });
    expect([(await verify(verifyProof)).status, (await me(meProof)).status]).toEqual([200, 200]);
    // What a run that ran out of proofs would send: counted among its errors.
    expect([(await verify(verifyProof)).status, (await me(meProof)).status]).toEqual([401, 401]);
    expect((await me(key.proof({ method: "GET", url: `${ORIGIN}/api/v1/me` }))).status).toBe(401);
  });
});
