import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { version } from "../../package.json";
import { runKeyward, tempDir } from "../helpers/binary";
import { freePort } from "../helpers/server";

describe("the keyward command line", () => {
  test("--version prints the package version", async () => {
    const { code, stdout } = await runKeyward(["--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`keyward ${version}`);
  });

  test.each([["--help"], ["-h"], ["help"]])("%s lists the commands and exits 0", async (flag) => {
    const { code, stdout } = await runKeyward([flag]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: keyward [command]");
    expect(stdout).toMatch(/^\s+serve\s/m);
    expect(stdout).toMatch(/^\s+migrate\s/m);
  });

  test("README's command-line section shows what --help prints, from its usage line on", async () => {
    const { stdout } = await runKeyward(["--help"]);
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    const shown = /## Command line\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(shown).toBe(stdout.slice(stdout.indexOf("Usage: keyward [command]")));
  });

  test.each([
    [["serve", "--help"], "Usage: keyward serve", "--port PORT"],
    [["migrate", "--help"], "Usage: keyward migrate", "--db DB"],
    [["help", "serve"], "Usage: keyward serve", "KEYWARD_HOST"],
  ])("%p explains that command", async (args, usage, option) => {
    const { code, stdout } = await runKeyward(args);
    expect(code).toBe(0);
    expect(stdout).toContain(usage);
    expect(stdout).toContain(option);
  });

  test.each([
    [["frobnicate"], "keyward: unknown command 'frobnicate'", "Usage: keyward [command]"],
    [["serve", "--bogus"], "keyward serve: unknown option '--bogus'", "Usage: keyward serve"],
    [["serve", "--port"], "keyward serve: option '--port <value>' argument missing", "Usage: keyward serve"],
    [["migrate", "extra"], "keyward migrate: unexpected argument 'extra'", "Usage: keyward migrate"],
    [["help", "nope"], "keyward: unknown command 'nope'", "Usage: keyward [command]"],
  ])("%p is a usage error: one line, the usage, exit 2", async (args, line, usage) => {
    const { code, stdout, stderr } = await runKeyward(args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toBe(line);
    expect(stderr).toContain(usage);
  });

  test.each([
    ["KEYWARD_PORT=abc", { KEYWARD_PORT: "abc" }, [], 'KEYWARD_PORT="abc": must be a whole number from 0 to 65535'],
    ["PORT=99999", { PORT: "99999" }, [], 'PORT="99999"'],
    ["KEYWARD_LOG=chatty", { KEYWARD_LOG: "chatty" }, [], "must be one of debug, info, warn, error"],
    ["--port http", {}, ["--port", "http"], '--port="http"'],
    ["--host 'bad host'", {}, ["--host", "bad host"], "must be a host name or an IP address"],
  ] as [string, Record<string, string>, string[], string][])("bad configuration (%s) stops serve with exit 2 and a clear message", async (_, env, args, message) => {
    const { code, stderr } = await runKeyward(["serve", ...args], { env });
    expect(code).toBe(2);
    expect(stderr).toContain("keyward: invalid configuration:");
    expect(stderr).toContain(message);
  });

  test("a bad line in .env is a configuration error naming the line", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), "KEYWARD_DB=./ok.db\nnot a setting\n");
    const { code, stderr } = await runKeyward(["migrate"], { cwd });
    expect(code).toBe(2);
    expect(stderr).toContain(".env: line 2 is not KEY=value");
  });

  test("the database path comes from --db, else the environment, else .env, else ./data/keyward.db", async () => {
    const cwd = tempDir();
    const migrateIn = async (args: string[], env: Record<string, string> = {}) => {
      const { code, stdout } = await runKeyward(["migrate", ...args], { cwd, env });
      expect(code).toBe(0);
      return stdout;
    };
    expect(await migrateIn([])).toContain("./data/keyward.db: applied");
    expect(existsSync(join(cwd, "data/keyward.db"))).toBe(true);

    writeFileSync(join(cwd, ".env"), "KEYWARD_DB=./from-dotenv.db\n");
    expect(await migrateIn([])).toStartWith("./from-dotenv.db: applied");
    expect(await migrateIn([], { KEYWARD_DB: "./from-env.db" })).toStartWith("./from-env.db: applied");
    expect(await migrateIn(["--db", "./from-flag.db"], { KEYWARD_DB: "./from-env.db" })).toStartWith("./from-flag.db: applied");
    expect(await migrateIn(["--db", "./from-flag.db"])).toStartWith("./from-flag.db: already up to date");
  });

  test.each([[["serve"]], [["migrate"]], [["token", "list"]]])("%p with a PostgreSQL URL: needs SECRET_KEY (exit 2), and a server out of reach is one line (exit 1), never showing its password", async (args) => {
    const cwd = tempDir();
    const password = "pg-Secret-4c1e";
    const url = `postgresql://keyward:${password}@127.0.0.1:${freePort()}/keyward`;
    const shown = url.replace(password, "***");
    const unset = await runKeyward(args, { cwd, env: { KEYWARD_DB: url } });
    expect(unset.code).toBe(2);
    expect(unset.stdout).toBe("");
    expect(unset.stderr).toBe(
      "keyward: invalid configuration: SECRET_KEY is required with a PostgreSQL KEYWARD_DB: give every instance the same one (it encrypts the secrets they share in the database)\n",
    );
    const { code, stdout, stderr } = await runKeyward(args, { cwd, env: { KEYWARD_DB: url, SECRET_KEY: "k".repeat(32) } });
    expect(code).toBe(1);
    expect(stderr).toStartWith(`keyward: cannot open database ${shown}: `);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(`${stdout}${stderr}${unset.stderr}`).not.toContain(password);
    // Nothing was created in its place: no data/ directory, no file named after the URL.
    expect(readdirSync(cwd)).toEqual([]);
  });

  test("a PostgreSQL URL the driver refuses before connecting (an unknown sslmode) is one line (exit 1), not a stack trace", async () => {
    const password = "pg-Secret-4c1e";
    const url = `postgres://keyward:${password}@127.0.0.1:${freePort()}/keyward?sslmode=bogus`;
    const { code, stdout, stderr } = await runKeyward(["migrate"], { cwd: tempDir(), env: { KEYWARD_DB: url, SECRET_KEY: "k".repeat(32) } });
    expect(code).toBe(1);
    expect(stderr).toStartWith(`keyward: cannot open database ${url.replace(password, "***")}: `);
    expect(stderr).toContain("sslmode");
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(`${stdout}${stderr}`).not.toContain(password);
  });
});
