import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { SQL } from "bun";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { deviceKey, type DeviceKey } from "../helpers/dpop-device";
import { hasPostgres, throwawayCluster, twoInstances } from "../helpers/postgres";
import { serverPool, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

// DPoP with two compiled instances on one PostgreSQL: a proof spent at one must be refused at the
// other, which a load balancer in front of both would otherwise let a captured request reach.
setDefaultTimeout(60_000);

// The load balancer in front of both is on loopback: the host it forwards is what proofs name.
const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "dpop-secret-key-0123456789abcdef", KEYWARD_TRUSTED_PROXIES: "127.0.0.1" } });
const cluster = throwawayCluster();

/** A proof as the device makes it for one instance: the instances are two names of one service. */
const proofFor = (key: DeviceKey, server: RunningServer, path: string, token?: string) => key.proof({ method: "GET", url: `${server.url}${path}`, token });

async function enrolled(server: RunningServer, key: DeviceKey) {
  const url = `${server.url}/api/v1/tokens/main`;
  const res = await server.fetch("/api/v1/tokens/main", {
    method: "POST",
    headers: { "content-type": "application/json", dpop: await key.proof({ method: "POST", url }) },
    body: JSON.stringify({ hardware_fingerprint: "fp-cluster", public_jwk: key.publicJwk }),
  });
  expect(res.status).toBe(201);
  const { main_token: main, short_token: short } = (await res.json()) as { main_token: string; short_token: string };
  return { main, short };
}

/** The same request, byte for byte, sent to `server` (its URL swapped in: a proxy would forward it under one name). */
const me = (server: RunningServer, main: string, proof: string) => server.fetch("/api/v1/me", { headers: { authorization: `DPoP ${main}`, dpop: proof, "x-forwarded-proto": "http", "x-forwarded-host": "keyward.home.lan" } }).then((r) => r.status);

describe.skipIf(!hasPostgres)("DPoP on instances sharing one PostgreSQL", () => {
  test("a proof spent at A is refused at B, and B's own proofs pass; the database forgets them after their minute", async () => {
    const { a, b, db } = await twoInstances(start, cluster.pg);
    const key = await deviceKey();
    const { main } = await enrolled(a, key);
    // Behind a load balancer both answer to one name, which the proxy forwards.
    const proof = () => key.proof({ method: "GET", url: "http://keyward.home.lan/api/v1/me", token: main });
    const captured = await proof();
    expect(await me(a, main, captured)).toBe(200);
    expect(await me(b, main, captured)).toBe(401);
    expect(await me(a, main, captured)).toBe(401);
    expect(await me(b, main, await proof())).toBe(200);
    // Many at once, each sent to both: each passes exactly once.
    const proofs = await Promise.all(Array.from({ length: 20 }, () => proof()));
    const statuses = await Promise.all(proofs.flatMap((p) => [me(a, main, p), me(b, main, p)]));
    expect([statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 401).length]).toEqual([20, 20]);
    const sql = new SQL(db);
    try {
      expect(Number((await sql`SELECT count(*) AS n FROM keyward_dpop_proofs`)[0].n)).toBe(23);
      expect(Number((await sql`SELECT count(*) AS n FROM keyward_dpop_proofs WHERE forget_at <= ${Date.now() + 61_000}`)[0].n)).toBe(23);
    } finally {
      await sql.close();
    }
  });

  test("a short token's proof too, and a key-bound device revoked on A is refused on B within a second", async () => {
    const { a, b } = await twoInstances(start, cluster.pg);
    const key = await deviceKey();
    const { main, short } = await enrolled(a, key);
    const verify = (server: RunningServer, proof: string) => server.fetch(`/api/v1/tokens/verify?short_token=${short}`, { headers: { dpop: proof } }).then((r) => r.status);
    const onA = await proofFor(key, a, "/api/v1/tokens/verify");
    expect(await verify(a, onA)).toBe(200);
    expect(await verify(b, await proofFor(key, b, "/api/v1/tokens/verify"))).toBe(200);
    const [device] = (await client(a).get("/api/v1/devices")).body;
    expect((await client(a).post(`/api/v1/devices/${device.id}/revoke`)).status).toBe(200);
    // Within the change signal's milliseconds (a second at most): each try with a fresh proof, as the device would.
    const refusedOnB = async () => (await b.fetch("/api/v1/me", { headers: { authorization: `DPoP ${main}`, dpop: await proofFor(key, b, "/api/v1/me", main) } })).status === 401;
    await until(refusedOnB, "B refuses the device A revoked", 1_000);
  });
});
