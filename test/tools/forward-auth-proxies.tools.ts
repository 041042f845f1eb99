import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { proxyAvailable, startProxy, type ProxyName, type RunningProxy } from "../helpers/proxies";
import { startKeyward, type RunningServer } from "../helpers/server";

setDefaultTimeout(20_000);

/** Every identity header a client might forge, in both spellings. */
const FORGED = {
  "Remote-User": "admin",
  "Remote-Groups": "admin",
  "X-Keyward-Token-Id": "tok_forged",
  Remote_User: "admin",
  Remote_Groups: "admin",
  X_Keyward_Token_Id: "tok_forged",
};
const IDENTITY = Object.keys(FORGED).map((name) => name.toLowerCase());

/** The README's snippet for each proxy, run by the real binary in front of a service, asking Keyward. */
describe.each(["nginx", "caddy"] as ProxyName[])("the README's %s snippet, run as written", (name) => {
  const available = proxyAvailable(name);
  let keyward: RunningServer;
  let open: RunningProxy;
  let adminOnly: RunningProxy;
  let nasOnly: RunningProxy;
  let upstream: ReturnType<typeof Bun.serve>;
  /**
   * A Keyward admin token: decided even from a locked-out address (the environment's admin token is
   * not), so the lockout the last test causes on 127.0.0.1 locks none of these calls out.
   */
  let admin: string;
  /** What the protected service received: only the identity headers, as it saw them. */
  const seen: Record<string, string>[] = [];

  beforeAll(async () => {
    if (!available) return;
    keyward = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1", KEYWARD_MAX_FAILURES: "5" } });
    admin = (await client(keyward).post("/api/v1/tokens", { user: "root", role: "admin" })).body.token;
    upstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        const identity = Object.fromEntries(IDENTITY.filter((header) => req.headers.has(header)).map((header) => [header, req.headers.get(header)!]));
        seen.push(identity);
        return Response.json(identity);
      },
    });
    const wiring = { keyward: new URL(keyward.url).host, upstream: `127.0.0.1:${upstream.port}` };
    [open, adminOnly, nasOnly] = await Promise.all([startProxy(name, wiring), startProxy(name, { ...wiring, role: "admin" }), startProxy(name, { ...wiring, scope: "nas" })]);
  });

  afterAll(async () => {
    open?.stop();
    adminOnly?.stop();
    nasOnly?.stop();
    upstream?.stop(true);
    await keyward?.stop();
  });

  const through = (proxy: RunningProxy, path: string, headers: Record<string, string> = {}) => fetch(`${proxy.url}${path}`, { headers: { ...proxy.headers, ...headers } });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const api = () => client(keyward, admin);
  const issue = async (user: string, role?: string, scopes?: string[]) => (await api().post("/api/v1/tokens", { user, ...(role ? { role } : {}), scopes })).body as { token: string; id: string };

  /** Runs a request and says whether the protected service was reached by it. */
  async function reaches(request: () => Promise<Response>) {
    const before = seen.length;
    const res = await request();
    await res.arrayBuffer();
    return { res, reached: seen.length > before };
  }

  describe.skipIf(!available)(`${name} in front of a service`, () => {
    test("no token → 401, and the service is never reached", async () => {
      const { res, reached } = await reaches(() => through(open, "/dashboard"));
      expect(res.status).toBe(401);
      expect(reached).toBe(false);
    });

    test.each([
      ["a random string", "not-a-token"],
      ["a Keyward-shaped token that was never issued", `kw_${"A".repeat(43)}`],
    ])("a bad token (%s) → 401, and the service is never reached", async (_, token) => {
      const { res, reached } = await reaches(() => through(open, "/dashboard", bearer(token)));
      expect(res.status).toBe(401);
      expect(reached).toBe(false);
    });

    test("a good token → 200, and the service sees Keyward's Remote-User, Remote-Groups and X-Keyward-Token-Id", async () => {
      const { token, id } = await issue("alice", "analyst");
      const res = await through(open, "/dashboard", bearer(token));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ "remote-user": "alice", "remote-groups": "analyst", "x-keyward-token-id": id });
      expect((await through(open, `/dashboard?token=${token}`)).status).toBe(200);
    });

    test("forged identity headers, in either spelling, never reach the service: with a good token it sees Keyward's", async () => {
      const { token, id } = await issue("bob", "viewer");
      const res = await through(open, "/", { ...FORGED, ...bearer(token) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ "remote-user": "bob", "remote-groups": "viewer", "x-keyward-token-id": id });
    });

    test("forged identity headers without a token → 401, and the service is never reached", async () => {
      const { res, reached } = await reaches(() => through(open, "/", FORGED));
      expect(res.status).toBe(401);
      expect(reached).toBe(false);
    });

    test("?role=admin in Keyward's URL: another role → 403, the admin passes", async () => {
      const { token } = await issue("carol", "analyst");
      const { res, reached } = await reaches(() => through(adminOnly, "/", bearer(token)));
      expect(res.status).toBe(403);
      expect(reached).toBe(false);
      expect((await through(adminOnly, "/", bearer(admin))).status).toBe(200);
    });

    test("?scope=nas in Keyward's URL: a token without it → 403 and the service is never reached; one with it passes", async () => {
      const { token } = await issue("frank", "analyst", ["backup"]);
      const { res, reached } = await reaches(() => through(nasOnly, "/", bearer(token)));
      expect(res.status).toBe(403);
      expect(reached).toBe(false);
      expect((await through(nasOnly, "/", bearer((await issue("grace", "analyst", ["backup", "nas"])).token))).status).toBe(200);
    });

    test("a revoked token → 401 within a second", async () => {
      const { token, id } = await issue("dave");
      expect((await through(open, "/", bearer(token))).status).toBe(200);
      await api().delete(`/api/v1/tokens/${id}`);
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 1000) status = (await through(open, "/", bearer(token))).status;
      expect(status).toBe(401);
    });

    // Last: it locks the one address every test here comes from.
    test("a locked-out address → 401 with Retry-After, not the 500 nginx makes of a 429; a good token still passes", async () => {
      let res = await through(open, "/", bearer("guess-0"));
      for (let i = 1; i < 12 && !res.headers.has("retry-after"); i++) res = await through(open, "/", bearer(`guess-${i}`));
      expect(res.status).toBe(401);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const audit = await api().get("/api/v1/audit?action=auth.locked&limit=1");
      expect(audit.body[0]).toMatchObject({ ip: "127.0.0.1" });
      const { token } = await issue("erin");
      expect((await through(open, "/", bearer(token))).status).toBe(200);
    });
  });
});
