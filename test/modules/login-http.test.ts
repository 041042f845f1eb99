import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, addAccount, client, formPost, jsonPost } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { scenarios, type App } from "../helpers/scenario";

// Password login and accounts, in-process; test/e2e/login.test.ts logs in over the binary once.
type Server = Awaited<ReturnType<typeof inProcessApp>>;
const start = (env: Record<string, string> = {}): Promise<Server> => inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
const invalidCredentials = { error: "Invalid credentials", code: "invalid_credentials", detail: "Invalid credentials" };

describe("password login", () => {
  const bob = async (app: App) => void (await addAccount(app, "bob", "correct horse battery"));
  scenarios(
    [
      ["a wrong password", { username: "bob", password: "wrong horse battery" }],
      ["an unknown user", { username: "nobody", password: "correct horse battery" }],
      ["no password", { username: "bob" }],
      ["nothing at all", {}],
    ].map(([what, fields]) => ({ name: `${what} gets the same 401`, method: "POST", url: "/login", form: true, body: fields, token: "", before: bob, status: 401, json: invalidCredentials })),
  );

  test("POST /echo takes the token as a Bearer header too, and refuses a token that is not the id's", async () => {
    const server = await start();
    await addAccount(server, "dave", "correct horse battery");
    const { token } = (await (await server.fetch("/login", jsonPost({ username: "dave", password: "correct horse battery" }))).json()) as { token: string };
    const viaHeader = await server.fetch("/echo", jsonPost({ id: "dave", text: "hi" }, { authorization: `Bearer ${token}` }));
    expect(await viaHeader.text()).toBe("You said: hi");
    const otherId = await server.fetch("/echo", formPost({ id: "mallory", token, text: "hi" }));
    expect(otherId.status).toBe(401);
    expect(await otherId.json()).toEqual({ error: "Invalid token", code: "invalid_token", detail: "Invalid token" });
    const html = await server.fetch("/echo", formPost({ token, text: "<script>alert(1)</script>" }));
    expect(html.headers.get("content-type")).toStartWith("text/plain");
    expect(html.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("accounts over HTTP", () => {
  test("add, list, change and remove; no password ever comes back", async () => {
    const server = await start();
    const api = client(server);
    const created = await addAccount(server, "Erin", "correct horse battery", "viewer");
    expect(created).toMatchObject({ username: "erin", role: "viewer", disabled: false });
    expect((await api.post("/api/v1/users", { username: "ERIN", password: "another password" })).status).toBe(409);
    expect((await api.post("/api/v1/users", { username: "frank", password: "short" })).status).toBe(422);
    const list = await api.get("/api/v1/users");
    expect(list.body.map((u: { username: string }) => u.username)).toEqual(["erin"]);
    expect(JSON.stringify(list.body)).not.toContain("correct horse");
    expect(JSON.stringify(list.body)).not.toContain("argon2");
    const changed = await server.fetch("/api/v1/users/erin", {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ role: "analyst" }),
    });
    expect(await changed.json()).toMatchObject({ username: "erin", role: "analyst" });
    const removed = await api.delete("/api/v1/users/erin");
    expect(removed.status).toBe(200);
    expect((await api.delete("/api/v1/users/erin")).status).toBe(404);
  });

  test("disabling a user refuses all their tokens at once; enabling restores them; removing revokes them", async () => {
    const server = await start();
    await addAccount(server, "gina", "correct horse battery");
    const api = client(server);
    const apiToken = (await api.post("/api/v1/tokens", { user: "gina" })).body.token as string;
    const loginToken = ((await (await server.fetch("/login", jsonPost({ username: "gina", password: "correct horse battery" }))).json()) as { token: string }).token;
    const patch = (disabled: boolean) =>
      server.fetch("/api/v1/users/gina", {
        method: "PATCH",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ disabled }),
      });
    expect((await patch(true)).status).toBe(200);
    for (const token of [apiToken, loginToken]) expect((await client(server, token).get("/data")).status).toBe(401);
    expect((await server.fetch("/login", jsonPost({ username: "gina", password: "correct horse battery" }))).status).toBe(401);
    await patch(false);
    for (const token of [apiToken, loginToken]) expect((await client(server, token).get("/data")).status).toBe(200);
    await api.delete("/api/v1/users/gina");
    expect((await client(server, apiToken).get("/data")).status).toBe(401);
  });

  const hank = async (app: App) => ({ hank: (await client(app).post("/api/v1/tokens", { user: "hank" })).body.token as string });
  scenarios([
    { name: "a non-admin cannot add a user", method: "POST", url: "/api/v1/users", body: { username: "hank2", password: "correct horse" }, before: hank, token: (made) => made.hank!, status: 403, after: async (app) => expect((await client(app).get("/api/v1/users")).body).toEqual([]) },
    { name: "a non-admin cannot list users", url: "/api/v1/users", before: hank, token: (made) => made.hank!, status: 403 },
  ]);
});

describe("brute force", () => {
  const limits = { KEYWARD_MAX_FAILURES: "3", KEYWARD_TRUSTED_PROXIES: "127.0.0.1" };
  const from = (ip: string, init: RequestInit) => ({ ...init, headers: { ...(init.headers as Record<string, string>), "x-forwarded-for": ip } });

  test("failed logins for one user name lock that name, whatever the address", async () => {
    const server = await start(limits);
    await addAccount(server, "kim", "correct horse battery");
    for (let i = 0; i < 3; i++) await server.fetch("/login", from(`10.0.1.${i}`, jsonPost({ username: "kim", password: "guess" })));
    const res = await server.fetch("/login", from("10.0.1.99", jsonPost({ username: "kim", password: "correct horse battery" })));
    expect(res.status).toBe(429);
  });
});
