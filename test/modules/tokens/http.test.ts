import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../../helpers/api";
import { inProcessApp } from "../../helpers/app";
import { scenarios, type App } from "../../helpers/scenario";

// The token API in-process (requests come from 127.0.0.1); test/e2e/tokens.test.ts keeps creating
// and revoking over the binary, the environment tokens, restarts and the CLI.
type Server = Awaited<ReturnType<typeof inProcessApp>>;
const start = (env: Record<string, string> = {}): Promise<Server> => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env });

async function createToken(server: Server, body: Record<string, unknown> = { user: "alice" }) {
  const res = await client(server).post("/api/v1/tokens", body);
  expect(res.status).toBe(201);
  return res.body as { token: string; id: string } & Record<string, unknown>;
}

describe("the token lifecycle over HTTP", () => {
  test("expires_in never, and the list's user and active filters", async () => {
    const server = await start();
    const forever = await createToken(server, { user: "carol", expires_in: "never" });
    expect(forever.expires_at).toBeNull();
    const other = await createToken(server, { user: "dave" });
    await client(server).delete(`/api/v1/tokens/${other.id}`);
    const api = client(server);
    expect((await api.get("/api/v1/tokens?user=CAROL")).body.map((r: { id: string }) => r.id)).toEqual([forever.id]);
    const active = (await api.get("/api/v1/tokens?active=true")).body.map((r: { user: string }) => r.user);
    expect(active).toContain("carol");
    expect(active).not.toContain("dave");
    expect((await api.get("/api/v1/tokens?active=false")).body.map((r: { user: string }) => r.user)).toEqual(["dave"]);
  });

  const nothingStored = async (app: App) => {
    const list = (await client(app).get("/api/v1/tokens?source=api")).body as { source: string }[];
    expect(list.filter((r) => r.source !== "env")).toEqual([]);
  };
  scenarios(
    (
      [
        ["no user", {}, 422, "validation_failed"],
        ["a user with spaces", { user: "bob smith" }, 422, "invalid_user"],
        ["a bad role", { user: "bob", role: "Root User" }, 422, "invalid_role"],
        ["a negative duration", { user: "bob", expires_in: "-5d" }, 422, "invalid_duration"],
        ["an absurd duration", { user: "bob", expires_in: "99999999d" }, 422, "invalid_duration"],
        ["a zero duration", { user: "bob", expires_in: "0s" }, 422, "invalid_duration"],
        ["a bad CIDR", { user: "bob", allowed_ips: ["10.0.0.0/40"] }, 422, "invalid_allowed_ips"],
        ["a number for the user", { user: 42 }, 422, "validation_failed"],
      ] as [string, unknown, number, string][]
    ).map(([what, body, status, code]) => ({
      name: `create with ${what} → ${status} ${code}, and nothing is stored`,
      method: "POST",
      url: "/api/v1/tokens",
      body,
      status,
      contains: [`"code":"${code}"`],
      after: nothingStored,
    })),
  );

  test("KEYWARD_TOKEN_TTL sets the default lifetime", async () => {
    const server = await start({ KEYWARD_TOKEN_TTL: "30m" });
    const created = await createToken(server, { user: "frank" });
    expect(Date.parse(created.expires_at as string) - Date.parse(created.created_at as string)).toBe(30 * 60_000);
  });

  test("rotating without grace: the old token stops, the new one works with the same user and role", async () => {
    const server = await start();
    const old = await createToken(server, { user: "gina", role: "viewer", name: "kiosk" });
    const rotated = await client(server).post(`/api/v1/tokens/${old.id}/rotate`);
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ user: "gina", role: "viewer", name: "kiosk", status: "active" });
    expect((await client(server, old.token).get("/data")).status).toBe(401);
    expect((await client(server, rotated.body.token).get("/data")).body).toEqual({ message: "Hello gina, here is your data!" });
    const record = await client(server).get(`/api/v1/tokens/${old.id}`);
    expect(record.body).toMatchObject({ status: "revoked", revoke_reason: "rotated", replaced_by: rotated.body.id });
  });

  test("all of one user's tokens can be revoked in one call", async () => {
    const server = await start();
    const tokens = [await createToken(server, { user: "ivan" }), await createToken(server, { user: "ivan" })];
    const other = await createToken(server, { user: "judy" });
    const res = await client(server).post("/api/v1/tokens/revoke", { user: "Ivan" });
    expect(res.body).toEqual({ user: "ivan", revoked: 2 });
    for (const { token } of tokens) expect((await client(server, token).get("/data")).status).toBe(401);
    expect((await client(server, other.token).get("/data")).status).toBe(200);
  });
});

describe("who may use a token, and from where", () => {
  test("an IP outside allowed_ips gets 403 ip_not_allowed", async () => {
    const server = await start();
    const { token } = await createToken(server, { user: "kim", allowed_ips: ["10.0.0.0/8"] });
    const res = await client(server, token).get("/data");
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: "This token may not be used from 127.0.0.1", code: "ip_not_allowed", detail: "This token may not be used from 127.0.0.1" });
  });

  test("KEYWARD_ALLOW_QUERY_TOKEN=false refuses ?token= but still takes the header", async () => {
    const server = await start({ KEYWARD_ALLOW_QUERY_TOKEN: "false" });
    const { token } = await createToken(server);
    expect((await server.fetch(`/data?token=${token}`)).status).toBe(401);
    expect((await client(server, token).get("/data")).status).toBe(200);
  });
});
