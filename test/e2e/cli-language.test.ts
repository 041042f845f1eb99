import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Command } from "../../src/cli/command";
import { commands } from "../../src/cli/commands";
import { rootUsage, usageOf } from "../../src/cli/usage";
import { inProcessApp } from "../helpers/app";
import { binaryPath, buildOnce, cleanEnv, runKeyward, tempDir } from "../helpers/binary";
import { serverPool } from "../helpers/server";

beforeAll(buildOnce, 120_000);
const start = serverPool();

const everyCommand: Command[] = commands.flatMap((entry) => ("subcommands" in entry ? entry.subcommands : [entry]));

/** Runs the binary with the password on standard input, as a script would with --password-stdin. */
async function withPassword(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([binaryPath, ...args], { env: cleanEnv(env), stdin: new Blob(["a long enough password\n"]), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** A command's --json answer: a record, or a list for the list commands. */
type Json = Record<string, unknown> & unknown[];

describe("every command that prints takes --json", () => {
  test("each one, run for real, prints one JSON document that says what it did", async () => {
    const portal = "http://auth.keyward.test";
    const server = await start({ env: { KEYWARD_DEVICE_ENROLLMENT: "approval", KEYWARD_PUBLIC_URL: portal } });
    const pending = await server.fetch("/api/v1/tokens/main", { method: "POST", headers: { "content-type": "application/json" }, body: '{"hardware_fingerprint":"fp-kiosk"}' });
    const device = ((await pending.json()) as { device_id: string }).device_id;
    const env = { KEYWARD_DB: server.db, KEYWARD_DEVICE_ENROLLMENT: "approval" };
    const dir = tempDir();
    const made = new Map<string, string>();
    // carol signs in through the portal, so there is a session to list and end.
    expect((await withPassword(["user", "add", "carol", "--password-stdin"], env)).code).toBe(0);
    const signIn = await server.fetch("/signin", { method: "POST", redirect: "manual", headers: { origin: portal, "content-type": "application/x-www-form-urlencoded" }, body: "username=carol&password=a+long+enough+password" });
    expect(signIn.status).toBe(303);

    // In order: later steps use what earlier ones made. Each case checks a field only that command's answer has.
    const cases: [string, string[], (out: Json) => void][] = [
      ["migrate", ["migrate"], (out) => expect(out.db).toBe(server.db)],
      ["token create", ["token", "create", "alice", "laptop", "--scope", "nas"], (out) => (made.set("{token}", String(out.id)), expect([out.name, out.scopes]).toEqual(["laptop", ["nas"]]))],
      ["token list", ["token", "list"], (out) => expect(out).toContainEqual(expect.objectContaining({ id: made.get("{token}"), name: "laptop" }))],
      ["token show", ["token", "show", "{token}"], (out) => expect(out.user).toBe("alice")],
      ["token rotate", ["token", "rotate", "{token}"], (out) => (made.set("{rotated}", String(out.id)), expect(out.token).toStartWith("kw_"))],
      ["token revoke", ["token", "revoke", "{rotated}"], (out) => expect(out.status).toBe("revoked")],
      ["token revoke", ["token", "revoke", "--user", "alice"], (out) => expect(out.user).toBe("alice")],
      ["user add", ["user", "add", "bob", "--password-stdin"], (out) => expect(out.username).toBe("bob")],
      ["user list", ["user", "list"], (out) => expect(out).toHaveLength(2)],
      ["user passwd", ["user", "passwd", "bob", "--password-stdin"], (out) => expect(out.username).toBe("bob")],
      ["user scopes", ["user", "scopes", "bob", "nas", "backup:read"], (out) => expect(out.scopes).toEqual(["nas", "backup:read"])],
      ["user disable", ["user", "disable", "bob"], (out) => expect(out.disabled).toBe(true)],
      ["user enable", ["user", "enable", "bob"], (out) => expect(out.disabled).toBe(false)],
      ["user remove", ["user", "remove", "bob"], (out) => expect(out.username).toBe("bob")],
      ["session list", ["session", "list", "--user", "carol"], (out) => (made.set("{session}", (out[0] as { id: string }).id), expect(out).toHaveLength(1))],
      ["session end", ["session", "end", "{session}"], (out) => expect(out.user).toBe("carol")],
      ["device list", ["device", "list", "--status", "pending"], (out) => expect(out).toHaveLength(1)],
      ["device label", ["device", "label", device, "kiosk"], (out) => expect(out.label).toBe("kiosk")],
      ["device approve", ["device", "approve", device], (out) => expect(out.status).toBe("active")],
      ["device reset", ["device", "reset", device], (out) => expect(out.status).toBe("pending")],
      ["device revoke", ["device", "revoke", device], (out) => expect(out.status).toBe("revoked")],
      ["audit", ["audit", "--limit", "3"], (out) => expect(out).toHaveLength(3)],
      ["usage", ["usage", "--bucket", "1d"], (out) => expect(out.points).toHaveLength(31)],
      ["backup", ["backup", join(dir, "copy.db")], (out) => expect(out.bytes).toBeGreaterThan(0)],
      ["restore", ["restore", join(dir, "copy.db")], (out) => expect(out.kept_as).toStartWith(server.db)],
      ["tls init", ["tls", "init", "--host", "keyward.lan", "--out", dir], (out) => expect(out.hosts).toEqual(["keyward.lan"])],
      ["service install", ["service", "install", "--unit-dir", dir], (out) => expect(out.path).toBe(join(dir, "keyward.service"))],
      ["service install", ["service", "install", "--dry-run"], (out) => expect(out.written).toBe(false)],
    ];

    // serve prints log lines, not a result: KEYWARD_LOG_FORMAT=json is its JSON.
    const covered = new Set(cases.map(([name]) => name));
    expect(everyCommand.map((c) => c.name).filter((name) => name !== "serve" && !covered.has(name))).toEqual([]);
    for (const command of everyCommand.filter((c) => c.name !== "serve")) expect(command.options.json?.type).toBe("boolean");

    for (const [name, template, check] of cases) {
      const args = [...template.map((arg) => made.get(arg) ?? arg), "--json"];
      const result = args.includes("--password-stdin") ? await withPassword(args, env) : await runKeyward(args, { env });
      expect({ name, code: result.code, error: result.code === 0 ? "" : result.stderr }).toEqual({ name, code: 0, error: "" });
      check(JSON.parse(result.stdout) as Json);
    }
  }, 60_000);
});

describe("token create names the token with the words after the user", () => {
  test.each([
    [["analyst1", "John Smith - Analyst"], "John Smith - Analyst"],
    [["analyst1", "John", "Smith"], "John Smith"],
    [["analyst1", "--name", "Jane Doe - Analyst"], "Jane Doe - Analyst"],
    [["analyst1"], null],
  ])("token create %p → name %p", async (args, name) => {
    const env = { KEYWARD_DB: join(tempDir(), "keyward.db") };
    const created = await runKeyward(["token", "create", ...args, "--json"], { env });
    expect(created.code).toBe(0);
    expect((JSON.parse(created.stdout) as { name: string | null }).name).toBe(name);
  });

  test("a name given both ways is a usage error, and no token is made", async () => {
    const env = { KEYWARD_DB: join(tempDir(), "keyward.db") };
    const result = await runKeyward(["token", "create", "analyst1", "John", "--name", "Jane"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe("keyward token create: give the name once: as words after the user, or with --name");
    expect((await runKeyward(["token", "list", "--json"], { env })).stdout.trim()).toBe("[]");
  });
});

describe("users meet product words, not the project's internal vocabulary", () => {
  test("the OpenAPI document never says seed", async () => {
    const res = await (await inProcessApp()).app.handle(new Request("http://localhost/swagger/json"));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("/api/v1/tokens/main");
    expect(text).not.toMatch(/seed/i);
  });

  test("keyward --help and the help of every command never say seed", async () => {
    const root = await runKeyward(["--help"]);
    expect(root.stdout).toContain("Usage: keyward");
    const pages = [root.stdout, rootUsage(commands), ...commands.map(usageOf), ...everyCommand.map(usageOf)];
    for (const page of pages) expect(page).not.toMatch(/seed/i);
    expect(pages.join("\n")).toContain("Usage: keyward token create <user> [name…]");
  });
});
