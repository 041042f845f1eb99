import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { createApp } from "../../src/app";
import { resolveConfig } from "../../src/config-load";
import { openStore } from "../../src/db/open";
import { createServices } from "../../src/services";
import { ADMIN_TOKEN, client, formPost } from "../helpers/api";
import { memoryLogger } from "../helpers/memory-log";
import { createDatabase, hasPostgres, throwawayCluster } from "../helpers/postgres";
import { PASSWORD, PUBLIC, valueOf } from "../helpers/portal";

setDefaultTimeout(30_000);

const cluster = throwawayCluster();

/** The app in process over a fresh PostgreSQL database (jsonb scopes), the portal on. */
async function postgresApp() {
  const { store } = await openStore(await createDatabase(cluster.pg));
  const env = { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, SECRET_KEY: "k".repeat(64), KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "home.lan" };
  const services = await createServices(store, resolveConfig({ flags: {}, env, dotenv: {} }), memoryLogger());
  const app = createApp(services, () => ({ requestIP: () => ({ address: "127.0.0.1" }) }));
  return { store, fetch: (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init)) };
}

describe.skipIf(!hasPostgres)("scopes on PostgreSQL", () => {
  test("a token's scopes are stored, kept by rotation and checked; an account's reach its session at once", async () => {
    const kw = await postgresApp();
    try {
      const admin = client(kw);
      const issued = (await admin.post("/api/v1/tokens", { user: "alice", scopes: ["nas", "backup:read"] })).body;
      expect(issued.scopes).toEqual(["nas", "backup:read"]);
      const rotated = (await admin.post(`/api/v1/tokens/${issued.id}/rotate`, { grace: "1h" })).body;
      expect((await admin.get(`/api/v1/tokens/${rotated.id}`)).body.scopes).toEqual(["nas", "backup:read"]);
      const forward = (query: string, headers: Record<string, string>) => kw.fetch(`/auth/forward?${query}`, { headers });
      const bearer = { authorization: `Bearer ${rotated.token}` };
      expect((await forward("scope=nas&scope=backup:read", bearer)).status).toBe(200);
      expect((await forward("scope=wiki", bearer)).status).toBe(403);

      expect((await admin.post("/api/v1/users", { username: "alice", password: PASSWORD })).status).toBe(201);
      const signedIn = await kw.fetch("/signin", formPost({ username: "alice", password: PASSWORD }, { origin: PUBLIC }));
      const session = { cookie: `keyward_session=${valueOf(signedIn)}` };
      expect((await forward("scope=wiki", session)).status).toBe(403);
      const patched = await kw.fetch("/api/v1/users/alice", {
        method: "PATCH",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ scopes: ["wiki"] }),
      });
      expect(((await patched.json()) as { scopes: string[] }).scopes).toEqual(["wiki"]);
      expect((await forward("scope=wiki", session)).status).toBe(200);
    } finally {
      await kw.store.close();
    }
  });
});
