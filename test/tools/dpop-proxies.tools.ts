import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ADMIN_TOKEN } from "../helpers/api";
import { deviceKey, type DeviceKey, type ProofOptions } from "../helpers/dpop-device";
import { proxyAvailable, startPortalProxy, startProxy, TEST_DOMAIN, type ProxyName, type RunningProxy, type Section } from "../helpers/proxies";
import { freePort, startKeyward, type RunningServer } from "../helpers/server";

setDefaultTimeout(20_000);

const IDENTITY = ["remote-user", "remote-groups"];
/** The README's setups with an `auth_request` / `forward_auth` snippet: `/auth/forward`'s, and the portal's (nginx's asks `/auth/request`). */
type Setup = Extract<Section, "forward" | "portal">;

/** Keyward (the compiled binary) and the proxy running one README setup in front of `upstream`. */
async function setUp(name: ProxyName, setup: Setup, upstream: string) {
  const env = { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1", KEYWARD_MAX_FAILURES: "1000" };
  if (setup === "forward") {
    const keyward = await startKeyward({ env });
    const proxy = await startProxy(name, { keyward: new URL(keyward.url).host, upstream });
    // Caddy's site is named in Host; nginx's snippet answers any name.
    return { keyward, proxy, host: proxy.headers.host ?? new URL(proxy.url).host, named: keyward.url };
  }
  const port = freePort();
  const publicUrl = `http://auth.${TEST_DOMAIN}:${port}`;
  const keyward = await startKeyward({ env: { ...env, KEYWARD_PUBLIC_URL: publicUrl, KEYWARD_COOKIE_DOMAIN: TEST_DOMAIN } });
  const proxy = await startPortalProxy(name, { keyward: new URL(keyward.url).host, upstream, port });
  // With KEYWARD_PUBLIC_URL set, a device names Keyward by it in its proofs, as it calls it.
  return { keyward, proxy, host: `app.${TEST_DOMAIN}:${port}`, named: publicUrl };
}

const SETUPS: [ProxyName, Setup][] = [
  ["nginx", "forward"],
  ["caddy", "forward"],
  ["nginx", "portal"],
  ["caddy", "portal"],
];

/**
 * A device whose tokens are bound to its key (RFC 9449) calls a service through a README setup,
 * run by the real proxy: the proof names the URL the device called, and Keyward rebuilds it from
 * the method and URL the proxy forwards.
 */
describe.each(SETUPS)("a key-bound device through the README's %s %s setup", (name, setup) => {
  const available = proxyAvailable(name);
  let keyward: RunningServer;
  /** Keyward's URL as a device names it: KEYWARD_PUBLIC_URL when set. */
  let named: string;
  let proxy: RunningProxy;
  /** The service's host as the device names it, in Host and in its proofs. */
  let host: string;
  let upstream: ReturnType<typeof Bun.serve>;
  let key: DeviceKey;
  let device: { main_token: string; device_id: string };
  /** What the protected service received: its identity headers, as it saw them. */
  const seen: Record<string, string | null>[] = [];

  const enroll = async (fingerprint: string, by: DeviceKey | null) => {
    const url = `${keyward.url}/api/v1/tokens/main`;
    const dpop: Record<string, string> = by === null ? {} : { dpop: await by.proof({ method: "POST", url: `${named}/api/v1/tokens/main` }) };
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...dpop }, body: JSON.stringify({ hardware_fingerprint: fingerprint }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { main_token: string; device_id: string };
  };

  beforeAll(async () => {
    if (!available) return;
    upstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        const identity = Object.fromEntries(IDENTITY.map((header) => [header, req.headers.get(header)]));
        seen.push(identity);
        return Response.json(identity);
      },
    });
    ({ keyward, proxy, host, named } = await setUp(name, setup, `127.0.0.1:${upstream.port}`));
    key = await deviceKey();
    device = await enroll("fp-camera", key);
  });

  afterAll(async () => {
    proxy?.stop();
    upstream?.stop(true);
    await keyward?.stop();
  });

  /** The service's URL as the device calls it, without a query. */
  const serviceUrl = (path: string) => `http://${host}${path}`;
  const proof = (options: Partial<ProofOptions> = {}) => key.proof({ method: "GET", url: serviceUrl("/files"), token: device.main_token, ...options });

  /** Calls `path` through the proxy and says whether the service was reached. */
  async function call(path: string, headers: Record<string, string>, method = "GET") {
    const before = seen.length;
    const res = await fetch(`${proxy.url}${path}`, { method, headers: { host, ...headers } });
    const body = await res.text();
    return { status: res.status, challenge: res.headers.get("www-authenticate"), reached: seen.length > before, body };
  }
  const dpop = async (options?: Partial<ProofOptions>) => ({ authorization: `DPoP ${device.main_token}`, dpop: await proof(options) });

  /** Refused by Keyward, with its DPoP challenge, and the service never reached. */
  const refused = (reply: Awaited<ReturnType<typeof call>>, what: string) => {
    expect([what, reply.status, reply.reached]).toEqual([what, 401, false]);
    expect(reply.challenge).toStartWith("DPoP ");
  };

  describe.skipIf(!available)("in front of a service", () => {
    test("a fresh proof naming the service's URL (its query left out) → 200, and the service sees the device as Remote-User", async () => {
      const reply = await call("/files?page=2", await dpop());
      expect([reply.status, reply.reached]).toEqual([200, true]);
      expect(JSON.parse(reply.body)).toEqual({ "remote-user": device.device_id, "remote-groups": "device" });
    });

    test("a POST whose proof names POST → 200: the proxy forwards the client's method, not its subrequest's", async () => {
      const reply = await call("/files", await dpop({ method: "POST" }), "POST");
      expect([reply.status, reply.reached]).toEqual([200, true]);
    });

    test("the same proof again → 401 with a DPoP challenge, and the service is never reached", async () => {
      const headers = await dpop();
      expect((await call("/files", headers)).status).toBe(200);
      refused(await call("/files", headers), "replayed");
    });

    test("a proof for another path, method, host, key or token, a stale one, or none → 401, and the service is never reached", async () => {
      const other = await deviceKey();
      const cases: [string, Record<string, string>, string?][] = [
        ["another path", await dpop({ url: serviceUrl("/admin") })],
        ["another host", await dpop({ url: "http://elsewhere.lan/files" })],
        ["a POST proof sent with GET", await dpop({ method: "POST" })],
        ["a GET proof sent with POST", await dpop(), "POST"],
        ["another key's proof", { authorization: `DPoP ${device.main_token}`, dpop: await other.proof({ method: "GET", url: serviceUrl("/files"), token: device.main_token }) }],
        ["no proof", { authorization: `DPoP ${device.main_token}` }],
        ["a proof for another token", await dpop({ token: "another-token" })],
        ["a proof over a minute old", await dpop({ iat: Math.floor(Date.now() / 1000) - 61 })],
      ];
      for (const [what, headers, method] of cases) refused(await call("/files", headers, method), what);
    });

    test("the same token as Bearer with X-Hardware-Fingerprint → 401, even with a good proof", async () => {
      const bearer = { authorization: `Bearer ${device.main_token}`, "x-hardware-fingerprint": "fp-camera" };
      refused(await call("/files", bearer), "Bearer");
      refused(await call("/files", { ...bearer, dpop: await proof() }), "Bearer with a proof");
    });

    test("forwarding headers the client forges get no proof through: nginx passes Caddy's on, and Caddy nginx's", async () => {
      const admin = {
        "x-forwarded-method": "POST",
        "x-original-method": "POST",
        "x-original-url": serviceUrl("/admin"),
        "x-forwarded-proto": "http",
        "x-forwarded-host": host,
        "x-forwarded-uri": "/admin",
      };
      const elsewhere = { "x-forwarded-proto": "https", "x-forwarded-host": "elsewhere.lan", "x-original-url": "https://elsewhere.lan/files" };
      const cases: [string, Record<string, string>, Partial<ProofOptions>][] = [
        ["POST /admin, as forged", admin, { method: "POST", url: serviceUrl("/admin") }],
        ["POST /files", admin, { method: "POST" }],
        ["GET /admin", admin, { url: serviceUrl("/admin") }],
        // Refused too: Keyward cannot tell the proxy's headers from the client's, only that they disagree.
        ["GET /files, as called", admin, {}],
        ["another host, as forged", elsewhere, { url: "https://elsewhere.lan/files" }],
      ];
      for (const [what, forged, options] of cases) refused(await call("/files", { ...(await dpop(options)), ...forged }), what);
    });

    test("a device enrolled without a key passes as before: its main token as Bearer with its fingerprint", async () => {
      const plain = await enroll("fp-printer", null);
      const reply = await call("/files", { authorization: `Bearer ${plain.main_token}`, "x-hardware-fingerprint": "fp-printer" });
      expect([reply.status, JSON.parse(reply.body)["remote-user"]]).toEqual([200, plain.device_id]);
    });
  });
});
