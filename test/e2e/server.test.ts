import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { version } from "../../package.json";
import { binaryPath, buildOnce, runKeyward, tempDir } from "../helpers/binary";
import { serverPool } from "../helpers/server";
import { until } from "../helpers/until";

const start = serverPool();

describe("the server binary", () => {
  test("copied alone into an empty directory, it starts, creates ./data/keyward.db and serves", async () => {
    await buildOnce();
    const cwd = tempDir();
    const binary = join(cwd, "keyward");
    copyFileSync(binaryPath, binary);
    Bun.spawnSync(["chmod", "+x", binary]);
    const server = await start({ cwd, binary, db: null });
    const res = await server.fetch("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version });
    expect(statSync(join(cwd, "data/keyward.db")).isFile()).toBe(true);
    expect(statSync(join(cwd, "data")).mode & 0o777).toBe(0o700);
  });

  test("what only some starts need is inside it too: started for PostgreSQL beside decoy copies of its chunks, it runs its own", async () => {
    await buildOnce();
    const cwd = tempDir();
    const binary = join(cwd, "keyward");
    copyFileSync(binaryPath, binary);
    chmodSync(binary, 0o700);
    // The chunks (scripts/compile.ts splits the code), by the names the binary loads them by: near its end, with the code.
    const file = Bun.file(binary);
    const tail = Buffer.from(await file.slice(Math.max(0, file.size - 16 * 1024 * 1024)).arrayBuffer()).toString("latin1");
    const chunks = [...new Set(tail.match(/chunk-[a-z0-9]+\.js/g))];
    expect(chunks.length).toBeGreaterThan(0);
    const ran = join(cwd, "decoy-ran");
    for (const chunk of chunks) writeFileSync(join(cwd, chunk), `require("node:fs").writeFileSync(${JSON.stringify(ran)}, "ran");\n`);
    // An sslmode Bun's driver refuses: the driver's chunk is loaded, and fails at once, before connecting.
    const run = await runKeyward(["serve", "--port", "8080", "--db", "postgres://keyward:secret@127.0.0.1:1/keyward?sslmode=bogus"], {
      cwd,
      binary,
      env: { SECRET_KEY: "e2e-secret-key-0123456789abcdef-0123456789" },
    });
    expect(run.stderr).toContain("keyward: cannot open database postgres://keyward:***@127.0.0.1:1/keyward?sslmode=bogus: The argument 'sslmode' must be one of");
    expect(run.code).toBe(1);
    expect(existsSync(ran)).toBe(false);
  });

  test("a second start on the same database applies no migration", async () => {
    const cwd = tempDir();
    const first = await start({ cwd });
    expect(first.events().some((e) => e.msg === "database migrated")).toBe(true);
    expect(await first.stop()).toBe(0);
    const second = await start({ cwd });
    expect(second.events().some((e) => e.msg === "database migrated")).toBe(false);
    expect((await second.fetch("/health")).status).toBe(200);
  });

  test("a second server on a port already taken exits 1 saying so, rather than sharing the first one's requests", async () => {
    const first = await start();
    const port = new URL(first.url).port;
    const second = await runKeyward(["serve", "--host", "127.0.0.1", "--port", port, "--db", join(tempDir(), "other.db")], { env: { KEYWARD_LOG_FORMAT: "json" } });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`keyward: 127.0.0.1:${port} is in use`);
    expect(second.stderr).not.toContain("unexpected error");
    expect((await first.fetch("/health")).status).toBe(200);
  });

  test("an unknown route is a 404 in the JSON error shape", async () => {
    const server = await start();
    const res = await server.fetch("/no/such/thing");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "No route for GET /no/such/thing", code: "not_found", detail: "No route for GET /no/such/thing" });
  });

  test.each([
    ["malformed JSON", "application/json", "{\"user\": ", 400, "malformed_body"],
    ["a JSON array instead of an object", "application/json", "[1,2]", 422, "validation_failed"],
    ["plain text", "text/plain", "user=alice", 422, "validation_failed"],
  ])("a body of %s gets %i in the JSON error shape, and nothing is created", async (_, type, body, status, code) => {
    const server = await start({ env: { KEYWARD_ADMIN_TOKEN: "e2e-admin-token-abcdefghijkl" } });
    const headers = { authorization: "Bearer e2e-admin-token-abcdefghijkl", "content-type": type };
    const res = await server.fetch("/api/v1/tokens", { method: "POST", headers, body });
    expect(res.status).toBe(status);
    const error = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(error).sort()).toEqual(["code", "detail", "error"]);
    expect(error.code).toBe(code);
    const list = (await (await server.fetch("/api/v1/tokens", { headers })).json()) as { source: string }[];
    expect(list.filter((t) => t.source !== "env")).toEqual([]);
  });

  test("each request is logged once with method, path, status and ms, never its query string", async () => {
    const server = await start();
    await server.fetch("/swagger/json?token=kw_secret_in_query");
    await server.fetch("/missing");
    const linesFor = (path: string) => server.events().filter((e) => e.msg === "request" && e.path === path);
    await until(() => linesFor("/missing").length > 0 && linesFor("/swagger/json").length > 0, "both request lines");
    expect(linesFor("/swagger/json")).toHaveLength(1);
    expect(linesFor("/swagger/json")[0]).toMatchObject({ level: "info", method: "GET", status: 200 });
    expect(linesFor("/swagger/json")[0]!.ms).toBeNumber();
    expect(linesFor("/missing")).toHaveLength(1);
    expect(linesFor("/missing")[0]).toMatchObject({ method: "GET", status: 404 });
    expect(server.logs()).not.toContain("kw_secret_in_query");
  });

  test("text logs are one readable line per event", async () => {
    const server = await start({ env: { KEYWARD_LOG_FORMAT: "text" } });
    await server.fetch("/health");
    await server.stop();
    expect(server.logs()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  request method=GET path=\/health status=200 ms=[\d.]+$/m);
  });

  test("KEYWARD_LOG=warn silences the info lines", async () => {
    const server = await start({ env: { KEYWARD_LOG: "warn" } });
    await server.fetch("/health");
    await server.stop();
    expect(server.events().filter((e) => e.level === "info" || e.level === "debug")).toEqual([]);
  });

  test("--port 0 takes a free port and logs the address it listens on", async () => {
    const cwd = tempDir();
    const proc = Bun.spawn([binaryPath, "serve", "--host", "127.0.0.1", "--port", "0", "--db", "k.db"], {
      cwd,
      env: { PATH: process.env.PATH ?? "", KEYWARD_LOG_FORMAT: "json" },
      stderr: "pipe",
    });
    const reader = proc.stderr.getReader();
    let text = "";
    while (!text.includes('"listening"')) text += new TextDecoder().decode((await reader.read()).value);
    const url = JSON.parse(text.split("\n").find((l) => l.includes('"listening"'))!).url as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toEndWith(":0");
    expect((await fetch(`${url}/health`)).status).toBe(200);
    proc.kill();
    expect(await proc.exited).toBe(0);
  });

  test("SIGTERM while a login is still hashing its password: the login finishes, then the server stops", async () => {
    const server = await start({ env: { KEYWARD_ADMIN_TOKEN: "e2e-admin-token-abcdefghijkl" } });
    const headers = { authorization: "Bearer e2e-admin-token-abcdefghijkl", "content-type": "application/json" };
    await server.fetch("/api/v1/users", { method: "POST", headers, body: JSON.stringify({ username: "late", password: "correct horse battery" }) });
    const login = server.fetch("/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "late", password: "correct horse battery" }) });
    // Nothing marks a handler's start; the argon2id check it starts takes far longer than this.
    await Bun.sleep(20);
    server.proc.kill("SIGTERM");
    expect((await login).status).toBe(200);
    expect(await server.proc.exited).toBe(0);
    expect(server.logs()).not.toContain("request failed");
  });

  test("SIGTERM after a client gave up on a login: the abandoned handler still finishes before the database closes", async () => {
    const server = await start({ env: { KEYWARD_ADMIN_TOKEN: "e2e-admin-token-abcdefghijkl" } });
    const headers = { authorization: "Bearer e2e-admin-token-abcdefghijkl", "content-type": "application/json" };
    await server.fetch("/api/v1/users", { method: "POST", headers, body: JSON.stringify({ username: "gone", password: "correct horse battery" }) });
    const abort = new AbortController();
    const login = server.fetch("/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "gone", password: "correct horse battery" }),
      signal: abort.signal,
    });
    // As above: give the request time to reach its handler before the client gives up.
    await Bun.sleep(20);
    abort.abort();
    await login.catch(() => undefined);
    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
    expect(server.logs()).not.toContain("request failed");
  });

  test.each(["SIGTERM", "SIGINT"] as const)("%s stops it cleanly: exit 0, database closed and intact", async (signal) => {
    const server = await start();
    expect((await server.fetch("/health")).status).toBe(200);
    expect(await server.stop(signal)).toBe(0);
    expect(server.events().map((e) => e.msg)).toContain("stopped");
    expect(existsSync(`${server.db}-wal`)).toBe(false);
    const db = new Database(server.db, { readonly: true });
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    db.close();
  });
});

describe("a database it cannot use", () => {
  test("a file that is not a database: exit 1, a clear message, and the file untouched", async () => {
    const cwd = tempDir();
    const path = join(cwd, "keyward.db");
    const junk = "this is not an SQLite database, it is somebody's notes\n".repeat(100);
    writeFileSync(path, junk, { mode: 0o600 });
    const { code, stderr } = await runKeyward(["serve", "--port", "0", "--db", path], { cwd });
    expect(code).toBe(1);
    expect(stderr).toContain(`keyward: cannot open database ${path}: file is not a database`);
    expect(readFileSync(path, "utf8")).toBe(junk);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  test("a directory that cannot be created: exit 1 and a clear message", async () => {
    const { code, stderr } = await runKeyward(["serve", "--port", "0", "--db", "/proc/keyward/keyward.db"]);
    expect(code).toBe(1);
    expect(stderr).toContain("keyward: cannot create database directory /proc/keyward");
  });

  test("a path that is a directory: exit 1 and a clear message", async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "db-is-a-dir"));
    const { code, stderr } = await runKeyward(["migrate", "--db", "db-is-a-dir"], { cwd });
    expect(code).toBe(1);
    expect(stderr).toContain("keyward: cannot open database db-is-a-dir");
  });

  test("a database from a newer Keyward: exit 1, and its data is left alone", async () => {
    const cwd = tempDir();
    expect((await runKeyward(["migrate", "--db", "k.db"], { cwd })).code).toBe(0);
    const db = new Database(join(cwd, "k.db"));
    db.run(`INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES ('from-the-future', 99999999999999)`);
    db.close();
    const { code, stderr } = await runKeyward(["serve", "--port", "0", "--db", "k.db"], { cwd });
    expect(code).toBe(1);
    expect(stderr).toContain("written by a newer Keyward");
    const after = new Database(join(cwd, "k.db"), { readonly: true });
    expect(after.query(`SELECT count(*) AS n FROM "__drizzle_migrations" WHERE hash = 'from-the-future'`).get()).toEqual({ n: 1 });
    after.close();
  });
});

describe("file permissions", () => {
  test("the database and its directory are created for Keyward's user only (0600, 0700)", async () => {
    const cwd = tempDir();
    expect((await runKeyward(["migrate", "--db", "store/k.db"], { cwd })).code).toBe(0);
    expect(statSync(join(cwd, "store")).mode & 0o777).toBe(0o700);
    expect(statSync(join(cwd, "store/k.db")).mode & 0o777).toBe(0o600);
  });

  test("a world-readable database stops serve with a clear message, unless --allow-insecure-permissions", async () => {
    const cwd = tempDir();
    expect((await runKeyward(["migrate", "--db", "k.db"], { cwd })).code).toBe(0);
    chmodSync(join(cwd, "k.db"), 0o644);
    const refused = await runKeyward(["serve", "--port", "0", "--db", "k.db"], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("k.db can be read or written by any user of this machine (mode 0644); run chmod 600 k.db");
    const server = await start({ cwd, db: join(cwd, "k.db"), args: ["--allow-insecure-permissions"] });
    expect((await server.fetch("/health")).status).toBe(200);
  });

  test("without TLS, the server warns once that tokens travel in clear text", async () => {
    const server = await start();
    await server.stop();
    expect(server.events().filter((e) => String(e.msg).includes("clear text"))).toHaveLength(1);
  });
});

describe("what the binary reads from its working directory", () => {
  test("a stray bunfig.toml cannot preload code into it", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "evil.ts"), `require("fs").writeFileSync(${JSON.stringify(join(cwd, "pwned"))}, "yes");`);
    writeFileSync(join(cwd, "bunfig.toml"), `preload = ["./evil.ts"]\n`);
    const { code } = await runKeyward(["migrate"], { cwd });
    expect(code).toBe(0);
    expect(existsSync(join(cwd, "pwned"))).toBe(false);
  });
});
