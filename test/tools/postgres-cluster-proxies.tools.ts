import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ADMIN_TOKEN } from "../helpers/api";
import { createDatabase, hasPostgres, startPostgres, type Postgres } from "../helpers/postgres";
import { proxyAvailable, startClusterProxy, type ProxyName, type RunningProxy } from "../helpers/proxies";
import { serverPool } from "../helpers/server";

// README's "Several instances behind nginx or Caddy", run as written in front of two instances of
// the compiled binary on one PostgreSQL: one instance dies, and the proxy keeps answering.
setDefaultTimeout(60_000);

const start = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "cluster-secret-key-0123456789abcdef", KEYWARD_TRUSTED_PROXIES: "127.0.0.1" } });

let pg: Postgres;
let proxy: RunningProxy | undefined;
beforeAll(async () => {
  if (hasPostgres) pg = await startPostgres();
});
afterEach(() => {
  proxy?.stop();
  proxy = undefined;
});
afterAll(async () => {
  await pg?.stop();
});

for (const name of ["nginx", "caddy"] as ProxyName[]) {
  describe.skipIf(!hasPostgres || !proxyAvailable(name))(`two instances behind ${name}, as the README sets them up`, () => {
    test("a token made through the proxy works through it; with one instance killed, every request is still answered", async () => {
      const db = await createDatabase(pg);
      const a = await start({ db });
      const b = await start({ db });
      proxy = await startClusterProxy(name, [a.url.replace("http://", ""), b.url.replace("http://", "")]);
      const through = (path: string, init: RequestInit = {}) => fetch(proxy!.url + path, { ...init, headers: { ...proxy!.headers, ...(init.headers as Record<string, string>) } });

      const made = await through("/api/v1/tokens", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ user: "ann" }) });
      expect(made.status).toBe(201);
      const { token } = (await made.json()) as { token: string };
      const data = () => through("/data", { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

      const before = await Promise.all(Array.from({ length: 20 }, data));
      expect(before.every((status) => status === 200)).toBe(true);

      await a.stop("SIGKILL");
      const after: number[] = [];
      for (let i = 0; i < 20; i++) after.push(await data());
      expect(after).toEqual(Array.from({ length: 20 }, () => 200));
      expect(b.proc.exitCode).toBeNull();
    });
  });
}
