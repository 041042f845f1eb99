import { Database } from "bun:sqlite";
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildOnce, runKeyward, tempDir } from "../helpers/binary";

beforeAll(buildOnce, 120_000);

/** Raw control bytes (C0 but the newlines between lines, DEL, C1) and the right-to-left override. */
const rawControl = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/;

/**
 * A database holding client-chosen text: a token name with a colour code and a carriage return
 * (older builds stored those), a right-to-left override, and a failed login's user name.
 */
async function hostileDatabase(): Promise<{ env: Record<string, string> }> {
  const cwd = tempDir();
  const env = { KEYWARD_DB: join(cwd, "keyward.db") };
  const created = await runKeyward(["token", "create", "alice", "--name", "laptop\u202Etxt.exe", "--json"], { env });
  expect(created.code).toBe(0);
  const db = new Database(env.KEYWARD_DB);
  db.run("INSERT INTO tokens (id, user, name, role, hash, hint, source, created_at) VALUES ('tok_red', 'bob', ?, 'user', 'h', 'kw_…abcd', 'cli', 0)", [
    "\x1b[31mred\rname",
  ]);
  db.run("INSERT INTO audit_events (at, action, actor, user, ip, detail) VALUES (1, 'auth.failed', 'anonymous', ?, '10.0.0.9', ?)", [
    "\x1b[2Jmallory\r",
    "bad password for \x9b31m",
  ]);
  db.close();
  return { env };
}

describe("the CLI prints a client's text with its control characters escaped", () => {
  test("token list, token show and audit show \\x1b and \\r as escapes, never the raw bytes", async () => {
    const { env } = await hostileDatabase();
    const list = await runKeyward(["token", "list"], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("\\x1b[31mred\\x0dname");
    expect(list.stdout).toContain("laptop\\u202etxt.exe");
    expect(list.stdout).not.toMatch(rawControl);

    const show = await runKeyward(["token", "show", "tok_red"], { env });
    expect(show.stdout).toContain("\\x1b[31mred\\x0dname");
    expect(show.stdout).not.toMatch(rawControl);

    const audit = await runKeyward(["audit"], { env });
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain("\\x1b[2Jmallory\\x0d");
    expect(audit.stdout).toContain("bad password for \\x9b31m");
    expect(audit.stdout).not.toMatch(rawControl);
  });

  test("--json escapes them the JSON way and still means the same text", async () => {
    const { env } = await hostileDatabase();
    for (const args of [["token", "list", "--json"], ["audit", "--json"]]) {
      const { code, stdout } = await runKeyward(args, { env });
      expect(code).toBe(0);
      expect(stdout).not.toMatch(rawControl);
      expect(JSON.stringify(JSON.parse(stdout))).toMatch(/\\u001b\[(31mred|2Jmallory)/);
    }
    const tokens = JSON.parse((await runKeyward(["token", "list", "--json"], { env })).stdout) as { name: string }[];
    expect(tokens.map((t) => t.name).sort()).toEqual(["\x1b[31mred\rname", "laptop\u202Etxt.exe"]);
  });
});
