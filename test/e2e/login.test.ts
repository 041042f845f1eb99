import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, addAccount, client, formPost, jsonPost } from "../helpers/api";
import { binaryPath, runKeyward } from "../helpers/binary";
import { serverPool, type RunningServer } from "../helpers/server";
import { generateToken } from "../../src/lib/token-format";
import { until } from "../helpers/until";

const pool = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });
const start = (env: Record<string, string> = {}) => pool({ env });
const invalidCredentials = { error: "Invalid credentials", code: "invalid_credentials", detail: "Invalid credentials" };


describe("seed 002's client, against a server in open-login lab mode", () => {
  test("its four tests give exactly the statuses and bodies the seed shows", async () => {
    const server = await start({ KEYWARD_OPEN_LOGIN: "true" });
    const url = `${server.url}/`;

    const test1 = await fetch(url);
    expect(test1.status).toBe(200);
    expect(await test1.text()).toBe("Authentication server running");

    const test2 = await fetch(`${url}login`, formPost({ id: "user@email.com" }));
    expect(test2.status).toBe(200);
    const login = (await test2.json()) as { message: string; token: string };
    expect(login.message).toBe("Login successful");
    expect(login.token).toMatch(/^kw_/);

    const test3 = await fetch(`${url}echo`, formPost({ id: "user@email.com", token: login.token, text: "Hello from authenticated user!" }));
    expect(test3.status).toBe(200);
    expect(await test3.text()).toBe("You said: Hello from authenticated user!");

    const test4 = await fetch(`${url}echo`, formPost({ id: "user@email.com", token: "invalid_token", text: "Hello!" }));
    expect(test4.status).toBe(401);
    expect(await test4.json()).toEqual({ error: "Invalid token", code: "invalid_token", detail: "Invalid token" });
    expect(server.logs()).toContain("KEYWARD_OPEN_LOGIN is on");
  });

  test("with open login off (the default), the same login request is refused", async () => {
    const server = await start();
    const res = await fetch(`${server.url}/login`, formPost({ id: "user@email.com" }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(invalidCredentials);
  });
});

describe("GET /", () => {
  test("a browser gets a small page with the same sentence and a link to the docs", async () => {
    const server = await start();
    const res = await server.fetch("/", { headers: { accept: "text/html" } });
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("Authentication server running");
    expect(html).toContain('href="/swagger"');
    expect(html).not.toContain("<script");
  });
});

describe("password login", () => {
  test("form or JSON, username or id: a token of source login with the account's role, lasting an hour", async () => {
    const server = await start();
    await addAccount(server, "Alice", "correct horse battery", "analyst");
    for (const init of [formPost({ username: "alice", password: "correct horse battery" }), jsonPost({ id: "ALICE", password: "correct horse battery" })]) {
      const res = await server.fetch("/login", init);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { message: string; token: string; expires_at: string };
      expect(body.message).toBe("Login successful");
      expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(3_590_000);
      expect(Date.parse(body.expires_at) - Date.now()).toBeLessThanOrEqual(3_600_000);
      const me = await client(server, body.token).get("/api/v1/me");
      expect(me.body).toMatchObject({ user: "alice", role: "analyst", source: "login" });
    }
    const list = await client(server).get("/api/v1/tokens?user=alice");
    expect(list.body.map((t: { source: string }) => t.source)).toEqual(["login", "login"]);
  });
});

describe("brute force", () => {
  const limits = { KEYWARD_MAX_FAILURES: "3", KEYWARD_FAILURE_WINDOW: "2s", KEYWARD_TRUSTED_PROXIES: "127.0.0.1" };
  const from = (ip: string, init: RequestInit) => ({ ...init, headers: { ...(init.headers as Record<string, string>), "x-forwarded-for": ip } });

  test("bad tokens lock an address out of guessing, but a good Keyward token still works from there", async () => {
    const server = await start(limits);
    const good = (await client(server).post("/api/v1/tokens", { user: "lena" })).body.token as string;
    const bearer = (token: string) => from("10.0.2.5", { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 3; i++) expect((await server.fetch("/data", bearer(`kw_${"x".repeat(49)}`))).status).toBe(401);
    for (const guess of [`kw_${"x".repeat(49)}`, generateToken(), "letmein-operator-secret"]) {
      const locked = await server.fetch("/data", bearer(guess));
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    expect((await server.fetch("/data", bearer(good))).status).toBe(200);
    expect((await server.fetch("/data", from("10.0.2.6", { headers: { authorization: `Bearer ${good}` } }))).status).toBe(200);
  });
});

describe("the user CLI beside a running server", () => {
  test("add (from stdin), list, passwd, disable, enable and remove", async () => {
    // Polling with a refused token counts failures: no lockout here, this test is about the CLI.
    const server = await start({ KEYWARD_MAX_FAILURES: "1000000" });
    const env = { KEYWARD_DB: server.db };
    const withStdin = async (args: string[], input: string) => {
      const proc = Bun.spawn([binaryPath, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdin: new Blob([input]), stdout: "pipe", stderr: "pipe" });
      return { code: await proc.exited, stdout: await new Response(proc.stdout).text(), stderr: await new Response(proc.stderr).text() };
    };
    expect((await withStdin(["user", "add", "Mia", "--role", "viewer", "--password-stdin"], "first password\n")).code).toBe(0);
    const loginAs = (password: string) => server.fetch("/login", jsonPost({ username: "mia", password }));
    expect((await loginAs("first password")).status).toBe(200);
    const list = await runKeyward(["user", "list"], { env });
    expect(list.stdout).toMatch(/mia\s+viewer\s+enabled/);

    expect((await withStdin(["user", "passwd", "mia", "--password-stdin"], "second password\n")).code).toBe(0);
    expect((await loginAs("first password")).status).toBe(401);
    const session = (await (await loginAs("second password")).json()) as { token: string };

    // The server sees each CLI change within a second.
    const answers = (status: number, what: string) => until(async () => (await client(server, session.token).get("/data")).status === status, what, 1_500);
    expect((await runKeyward(["user", "disable", "mia"], { env })).code).toBe(0);
    await answers(401, "the disabled user's token is refused");
    expect((await runKeyward(["user", "enable", "mia"], { env })).code).toBe(0);
    await answers(200, "the enabled user's token works again");
    expect((await runKeyward(["user", "remove", "mia"], { env })).code).toBe(0);
    await answers(401, "the removed user's token is refused");
  }, 20_000);

  test("without a terminal and without --password-stdin, user add refuses with exit 2", async () => {
    const result = await runKeyward(["user", "add", "nick"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--password-stdin");
  });

  test("on a terminal, the password is asked twice and never echoed", async () => {
    const db = `${(await start()).cwd}/keyward.db`;
    const proc = Bun.spawn(["script", "-qec", `${binaryPath} user add olga --db ${db}`, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    let screen = "";
    const waitFor = async (text: string) => {
      while (!screen.includes(text)) screen += new TextDecoder().decode((await reader.read()).value);
    };
    await waitFor("Password: ");
    proc.stdin.write("terminal secret\r");
    await proc.stdin.flush();
    await waitFor("Password again: ");
    proc.stdin.write("terminal secret\r");
    await proc.stdin.flush();
    await waitFor("Added olga");
    expect(await proc.exited).toBe(0);
    expect(screen).not.toContain("terminal secret");
  });
});
