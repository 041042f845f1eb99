import { beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, addAccount, formPost } from "../helpers/api";
import { buildOnce, runKeyward } from "../helpers/binary";
import { serverPool, type RunningServer } from "../helpers/server";
import { until } from "../helpers/until";

beforeAll(buildOnce, 120_000);
const start = serverPool();

const PUBLIC = "http://auth.keyward.test";
const PASSWORD = "correct horse battery";

/** A running server with the portal on and alice and bob able to sign in. */
async function portalServer() {
  const server = await start({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC } });
  await addAccount(server, "alice", PASSWORD);
  await addAccount(server, "bob", PASSWORD);
  const cli = (...args: string[]) => runKeyward(args, { env: { KEYWARD_DB: server.db } });
  return { server, cli };
}

/** Signs in as a browser does; the cookie's value. */
async function signIn(server: RunningServer, username: string): Promise<string> {
  const res = await server.fetch("/signin", { ...formPost({ username, password: PASSWORD }, { origin: PUBLIC }), redirect: "manual" });
  expect(res.status).toBe(303);
  return /^keyward_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")![1]!;
}

const forward = (server: RunningServer, value: string) => server.fetch("/auth/forward", { headers: { cookie: `keyward_session=${value}` } });

describe("keyward session list", () => {
  test("a table of the open sessions, newest first, never a cookie; --user in any spelling; --json in the API's shape; a page at a time", async () => {
    const { server, cli } = await portalServer();
    const cookies = [await signIn(server, "alice"), await signIn(server, "bob"), await signIn(server, "alice")];

    const table = await cli("session", "list");
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID\s+USER\s+SIGNED IN\s+LAST SEEN\s+ADDRESS\s+ENDS IF UNUSED$/);
    expect(rows.map((row) => row.split(/\s+/)[1])).toEqual(["alice", "bob", "alice"]);
    for (const row of rows) expect(row).toMatch(/^ses_[0-9A-Za-z]{16}\s/);
    for (const cookie of cookies) expect(table.stdout).not.toContain(cookie);

    const json = await cli("session", "list", "--user", "ALICE", "--json");
    const records = JSON.parse(json.stdout) as Record<string, string>[];
    expect(records.map((record) => record.user)).toEqual(["alice", "alice"]);
    expect(Object.keys(records[0]!).sort()).toEqual(["created_at", "expires_at", "id", "ip", "last_seen_at", "user"]);
    const api = await server.fetch("/api/v1/sessions?user=alice", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await api.json()).toEqual(records);

    const first = await cli("session", "list", "--limit", "1");
    expect(first.stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(first.stderr).toMatch(/^More follow: repeat with --cursor \S+\n$/);
  }, 30_000);

  test("none open: says so; a bad --user or --limit is a usage error (exit 2)", async () => {
    const { cli } = await portalServer();
    expect(await cli("session", "list")).toEqual({ code: 0, stdout: "No open sessions.\n", stderr: "" });
    const badUser = await cli("session", "list", "--user", "not a name");
    expect([badUser.code, badUser.stderr.split("\n")[0]]).toEqual([2, "keyward: A user name is 1 to 64 letters, digits or . _ @ + -"]);
    const badLimit = await cli("session", "list", "--limit", "0");
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain("Usage: keyward session list");
  }, 30_000);
});

describe("keyward session end", () => {
  test("ends it: a running server refuses its cookie within a second; the user's other session goes on; audited with the CLI as actor", async () => {
    const { server, cli } = await portalServer();
    const ended = await signIn(server, "alice");
    const kept = await signIn(server, "alice");
    expect((await forward(server, ended)).status).toBe(200);
    const [newest, oldest] = JSON.parse((await cli("session", "list", "--json")).stdout) as { id: string }[];
    expect(newest).toBeDefined();

    const result = await cli("session", "end", oldest!.id);
    expect(result).toEqual({ code: 0, stdout: `Ended ${oldest!.id} (alice). A running server refuses it within a second.\n`, stderr: "" });
    const endedAt = Date.now();
    await until(async () => (await forward(server, ended)).status === 401, "the server to refuse the ended session", 1000);
    expect(Date.now() - endedAt).toBeLessThan(1000);
    expect((await forward(server, kept)).status).toBe(200);

    const audit = await server.fetch("/api/v1/audit?action=session.ended", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await audit.json()).toEqual([expect.objectContaining({ actor: "cli", user: "alice", token_id: oldest!.id })]);
  }, 30_000);

  test("--json says which session ended and when", async () => {
    const { server, cli } = await portalServer();
    await signIn(server, "bob");
    const [session] = JSON.parse((await cli("session", "list", "--json")).stdout) as { id: string }[];
    const result = await cli("session", "end", session!.id, "--json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ id: session!.id, user: "bob", ended_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  }, 30_000);

  test("an id of no session, or of one already ended, fails with exit 1 and one line; no id is a usage error (exit 2)", async () => {
    const { server, cli } = await portalServer();
    await signIn(server, "bob");
    const [session] = JSON.parse((await cli("session", "list", "--json")).stdout) as { id: string }[];
    expect((await cli("session", "end", session!.id)).code).toBe(0);
    for (const id of [session!.id, "ses_AAAAAAAAAAAAAAAA", "nonsense"]) {
      const again = await cli("session", "end", id);
      expect({ id, code: again.code, stdout: again.stdout, stderr: again.stderr }).toEqual({
        id,
        code: 1,
        stdout: "",
        stderr: "keyward: No session with that id, or it has already ended\n",
      });
    }
    const missing = await cli("session", "end");
    expect([missing.code, missing.stderr.split("\n")[0]]).toEqual([2, "keyward session end: missing argument <id>"]);
  }, 30_000);

  test("keyward --help lists the session commands, and each explains itself", async () => {
    expect((await runKeyward(["--help"])).stdout).toMatch(/^\s+session\s+List and end browser sign-in sessions/m);
    const group = await runKeyward(["session", "--help"]);
    expect(group.stdout).toContain("Usage: keyward session <command> [options]");
    expect(group.stdout).toMatch(/^\s+list\s/m);
    expect(group.stdout).toMatch(/^\s+end\s/m);
    const list = await runKeyward(["help", "session", "list"]);
    expect(list.stdout).toContain("Usage: keyward session list [options]");
    expect(list.stdout).toContain("--user USER");
    expect(list.stdout).toContain("--db DB");
    expect((await runKeyward(["session", "end", "--help"])).stdout).toContain("Usage: keyward session end <id> [options]");
  }, 30_000);
});
