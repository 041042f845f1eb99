import { beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { buildOnce, runKeyward } from "../helpers/binary";
import { serverPool } from "../helpers/server";

beforeAll(buildOnce, 120_000);
const start = serverPool();

const STRONG = "6a12a1f2250df9edcea50e7b00b30142f353749c1965960770a32ed2e61d3c64";
const serve = (env: Record<string, string>) => runKeyward(["serve", "--host", "127.0.0.1", "--port", "0", "--db", "k.db"], { env });

describe("environment tokens at start", () => {
  test("label:tok:en: the token would hold a ':', which no Bearer header can carry: exit 2 with a clear message", async () => {
    const { code, stderr } = await serve({ API_TOKENS: `label:${STRONG.slice(0, 32)}:${STRONG.slice(32)}` });
    expect(code).toBe(2);
    expect(stderr).toBe(
      "keyward: invalid configuration: API_TOKENS: entry 1: its token has a character a Bearer header cannot carry (':' is there: only the first ':' of an entry separates its label); use letters, digits and - . _ ~ + / only (openssl rand -hex 32)\n",
    );
  });

  test("a KEYWARD_ADMIN_TOKEN shaped like a Keyward token with a bad checksum: exit 2, never a silently dead key", async () => {
    const { code, stderr } = await serve({ KEYWARD_ADMIN_TOKEN: "kw_8VLA8vvTyR47mAOFUlmZsqmUqVw0rxZslLysylzl2MR4cFIEd" });
    expect(code).toBe(2);
    expect(stderr).toBe(
      "keyward: invalid configuration: KEYWARD_ADMIN_TOKEN: looks like a Keyward token (kw_…) but its checksum is wrong, so it could never be accepted: it was mistyped or cut short; copy it again\n",
    );
  });

  test("a weak API_TOKENS value: exit 2 naming it and how to make one; KEYWARD_ALLOW_WEAK_ENV_TOKENS=true starts, with a warning", async () => {
    const refused = await serve({ API_TOKENS: "analyst:9b34c5e6bb" });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("API_TOKENS entry 1 (analyst) (at most 40 bits): too weak to be safe");
    expect(refused.stderr).toContain("openssl rand -hex 32");
    expect(refused.stderr).not.toContain("9b34c5e6bb");

    const server = await start({ env: { API_TOKENS: "analyst:9b34c5e6bb", KEYWARD_ALLOW_WEAK_ENV_TOKENS: "true", KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect((await client(server, "9b34c5e6bb").get("/data")).body).toEqual({ message: "Hello analyst, here is your data!" });
    expect(server.events().find((e) => String(e.msg).startsWith("a weak environment token is allowed"))).toMatchObject({ entry: "API_TOKENS entry 1 (analyst) (at most 40 bits)" });
    expect(server.logs()).not.toContain("9b34c5e6bb");
  });

  test("a strong label:token entry works as a Bearer token, and its hint shows no character of it", async () => {
    const server = await start({ env: { API_TOKENS: `analyst:${STRONG}`, KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect((await client(server, STRONG).get("/api/v1/me")).body).toMatchObject({ user: "analyst", source: "env" });
    const listed = (await client(server).get("/api/v1/tokens")).body as { hint: string; name: string }[];
    expect(listed.map((t) => t.hint).sort()).toEqual(["API_TOKENS #1", "KEYWARD_ADMIN_TOKEN"]);
  });
});

describe("keyward token revoke <an environment token's value>", () => {
  const ANALYST = "9b34c5e6a7d8f1e2b3c4a5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6";
  const saysEnvironmentToken = ({ code, stderr }: { code: number; stderr: string }) => {
    expect(code).toBe(1);
    expect(stderr).toContain("This is an environment token, configured by API_TOKENS or KEYWARD_ADMIN_TOKEN");
    expect(stderr).toContain("Take it out of the server's environment and restart");
    expect(stderr).not.toContain("No token");
  };

  test("a value a server recorded: refused by its record, even from a shell that does not configure it; it keeps working", async () => {
    const server = await start({ env: { API_TOKENS: `analyst:${ANALYST}`, KEYWARD_ADMIN_TOKEN: STRONG } });
    for (const value of [ANALYST, STRONG]) saysEnvironmentToken(await runKeyward(["token", "revoke", value, "--db", server.db]));
    expect((await client(server, ANALYST).get("/api/v1/me")).status).toBe(200);
  });

  test("a value only this environment configures (no server has started with it yet): refused the same way", async () => {
    saysEnvironmentToken(await runKeyward(["token", "revoke", ANALYST, "--db", "k.db"], { env: { API_TOKENS: `viewer:${STRONG},analyst:${ANALYST}` } }));
    saysEnvironmentToken(await runKeyward(["token", "revoke", STRONG, "--db", "k.db"], { env: { KEYWARD_ADMIN_TOKEN: STRONG } }));
  });

  test("a value nobody configured is still a plain not-found", async () => {
    const { code, stderr } = await runKeyward(["token", "revoke", ANALYST, "--db", "k.db"]);
    expect(code).toBe(1);
    expect(stderr).toBe("keyward: No token with id like that\n");
  });
});
