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
