import { describe, expect, test } from "bun:test";
import { ConfigError, weakEnvTokens, type ConfigSources } from "../src/config";
import { resolveConfig } from "../src/config-load";
import { secretBits } from "../src/config-values";

const sources = (partial: Partial<ConfigSources> = {}): ConfigSources => ({
  flags: {},
  env: {},
  dotenv: {},
  ...partial,
});

describe("configuration", () => {
  test("defaults suit a LAN server", () => {
    expect(resolveConfig(sources())).toEqual({
      host: "0.0.0.0",
      port: 8000,
      db: "./data/keyward.db",
      logLevel: "info",
      logFormat: "text",
      allowInsecurePermissions: false,
      tlsCert: null,
      tlsKey: null,
      tokenTtl: 90 * 86_400_000,
      loginTtl: 3_600_000,
      openLogin: false,
      maxFailures: 10,
      failureWindow: 60_000,
      auditRetention: 90 * 86_400_000,
      auditMaxRows: 100_000,
      usageMinutes: 86_400_000,
      usageHours: 90 * 86_400_000,
      usageDays: 730 * 86_400_000,
      stopDrain: 8_000,
      allowQueryToken: true,
      trustedProxies: [],
      secretKey: null,
      algorithm: "HS256",
      deviceTokenDays: 30,
      deviceEnrollment: "open",
      deviceEnrollRate: 60,
      deviceRequireKey: false,
      introspectRole: "resource-server",
      metricsRole: "metrics",
      metricsPublic: false,
      adminToken: null,
      apiTokens: [],
      allowWeakEnvTokens: false,
      publicUrl: null,
      cookieDomain: null,
      sessionIdle: 12 * 3_600_000,
      sessionMax: 7 * 86_400_000,
    });
  });

  test("flags beat the environment, which beats .env", () => {
    const all = { flags: { port: "1111" }, env: { KEYWARD_PORT: "2222" }, dotenv: { KEYWARD_PORT: "3333" } };
    expect(resolveConfig(sources(all)).port).toBe(1111);
    expect(resolveConfig(sources({ ...all, flags: {} })).port).toBe(2222);
    expect(resolveConfig(sources({ dotenv: all.dotenv })).port).toBe(3333);
  });

  test("PORT is honoured, and KEYWARD_PORT wins over it", () => {
    expect(resolveConfig(sources({ env: { PORT: "9090" } })).port).toBe(9090);
    expect(resolveConfig(sources({ env: { PORT: "9090", KEYWARD_PORT: "9191" } })).port).toBe(9191);
  });

  test("a real environment variable beats any .env entry, even one with a higher-ranked name", () => {
    expect(resolveConfig(sources({ env: { PORT: "9090" }, dotenv: { KEYWARD_PORT: "9191" } })).port).toBe(9090);
  });

  test("an empty value counts as unset", () => {
    expect(resolveConfig(sources({ env: { KEYWARD_PORT: "" }, dotenv: { KEYWARD_PORT: "7000" } })).port).toBe(7000);
  });

  test("flags that are not settings (booleans, unknown names) are ignored", () => {
    expect(resolveConfig(sources({ flags: { json: true, other: "x" } })).port).toBe(8000);
  });

  test("log level and format are case-insensitive", () => {
    const config = resolveConfig(sources({ env: { KEYWARD_LOG: "WARN", KEYWARD_LOG_FORMAT: "Json" } }));
    expect(config.logLevel).toBe("warn");
    expect(config.logFormat).toBe("json");
  });

  test("a bracketed IPv6 host is accepted and unbracketed", () => {
    expect(resolveConfig(sources({ flags: { host: "[::1]" } })).host).toBe("::1");
    expect(resolveConfig(sources({ flags: { host: "::" } })).host).toBe("::");
    expect(resolveConfig(sources({ flags: { host: "keyward.lan" } })).host).toBe("keyward.lan");
  });

  test("token settings: lifetimes, booleans, proxy ranges", () => {
    const config = resolveConfig(
      sources({
        env: { KEYWARD_TOKEN_TTL: "never", KEYWARD_ALLOW_QUERY_TOKEN: "false", KEYWARD_TRUSTED_PROXIES: "10.0.0.1, 192.168.0.0/16" },
      }),
    );
    expect(config.tokenTtl).toBeNull();
    expect(config.allowQueryToken).toBe(false);
    expect(config.trustedProxies.map((c) => c.text)).toEqual(["10.0.0.1/32", "192.168.0.0/16"]);
    expect(resolveConfig(sources({ env: { KEYWARD_TOKEN_TTL: "12h" } })).tokenTtl).toBe(12 * 3_600_000);
  });

  test("API_TOKENS takes label:token and bare entries, as seed 001 writes them (its short values need KEYWARD_ALLOW_WEAK_ENV_TOKENS)", () => {
    const env = { API_TOKENS: "admin:6a12a1f2aa, Analyst:9b34c5e6bb ,token3_user_viewer,", KEYWARD_ALLOW_WEAK_ENV_TOKENS: "true" };
    const config = resolveConfig(sources({ env }));
    expect(config.apiTokens).toEqual([
      { label: "admin", token: "6a12a1f2aa" },
      { label: "analyst", token: "9b34c5e6bb" },
      { label: null, token: "token3_user_viewer" },
    ]);
  });

  test("device settings use the seed's names; decimals of days are allowed", () => {
    const config = resolveConfig(sources({ env: { ALGORITHM: "hs512", ACCESS_TOKEN_EXPIRE_DAY: "0.5", SECRET_KEY: "k".repeat(40) } }));
    expect(config).toMatchObject({ algorithm: "HS512", deviceTokenDays: 0.5, secretKey: "k".repeat(40) });
    expect(() => resolveConfig(sources({ env: { SECRET_KEY: "tiny" } }))).toThrow("SECRET_KEY: is too short");
  });

  test("a bad secret is reported without echoing it", () => {
    const attempt = () => resolveConfig(sources({ env: { KEYWARD_ADMIN_TOKEN: "short-secret" } }));
    expect(attempt).toThrow("KEYWARD_ADMIN_TOKEN: is too short to be safe");
    expect(attempt).not.toThrow("short-secret");
  });

  const bad: [string, Partial<ConfigSources>, string][] = [
    ["a port that is not a number", { env: { KEYWARD_PORT: "abc" } }, 'KEYWARD_PORT="abc": must be a whole number from 0 to 65535'],
    ["a port out of range", { flags: { port: "70000" } }, '--port="70000": must be a whole number'],
    ["a negative port", { env: { PORT: "-1" } }, 'PORT="-1"'],
    ["a port with trailing junk", { dotenv: { KEYWARD_PORT: "80x" } }, 'KEYWARD_PORT (in .env)="80x"'],
    ["an unknown log level", { env: { KEYWARD_LOG: "loud" } }, "must be one of debug, info, warn, error"],
    ["an unknown log format", { env: { KEYWARD_LOG_FORMAT: "xml" } }, "must be one of text, json"],
    ["a host with spaces", { env: { KEYWARD_HOST: "my host" } }, "must be a host name or an IP address"],
    ["a db path with a NUL byte", { flags: { db: "a\0b" } }, "must be a file path"],
    ["a token lifetime that is not a duration", { env: { KEYWARD_TOKEN_TTL: "soon" } }, "is not a duration like 45s"],
    ["a zero token lifetime", { env: { KEYWARD_TOKEN_TTL: "0s" } }, "is zero"],
    ["a zero failure limit", { env: { KEYWARD_MAX_FAILURES: "0" } }, "must be a whole number from 1"],
    ["a zero failure window", { env: { KEYWARD_FAILURE_WINDOW: "0s" } }, "must be longer than zero"],
    ["an algorithm other than HMAC", { env: { ALGORITHM: "none" } }, "must be one of HS256, HS384, HS512"],
    ["RS256, which needs a key pair", { env: { ALGORITHM: "RS256" } }, "must be one of HS256, HS384, HS512"],
    ["a negative device lifetime", { env: { ACCESS_TOKEN_EXPIRE_DAY: "-1" } }, "must be a number of days above 0"],
    ["a zero device lifetime", { env: { ACCESS_TOKEN_EXPIRE_DAY: "0" } }, "must be a number of days above 0"],
    ["an unknown enrollment policy", { env: { KEYWARD_DEVICE_ENROLLMENT: "anyone" } }, "must be one of open, token, approval"],
    ["a zero enrollment rate", { env: { KEYWARD_DEVICE_ENROLL_RATE: "0" } }, 'KEYWARD_DEVICE_ENROLL_RATE="0": must be a whole number from 1'],
    ["a drain longer than a minute", { env: { KEYWARD_STOP_DRAIN: "2m" } }, 'KEYWARD_STOP_DRAIN="2m": "2m" is longer than a minute'],
    ["a login lifetime in words", { env: { KEYWARD_LOGIN_TTL: "an hour" } }, "is not a duration"],
    ["a boolean that is not one", { env: { KEYWARD_ALLOW_QUERY_TOKEN: "maybe" } }, "must be true or false"],
    ["a proxy that is not an address", { env: { KEYWARD_TRUSTED_PROXIES: "10.0.0.0/8,proxy.lan" } }, "is not an IP address or CIDR range"],
    ["an API_TOKENS label that is not a name", { env: { API_TOKENS: "bad label:abc", KEYWARD_ALLOW_WEAK_ENV_TOKENS: "true" } }, "entry 1 has a label that is not a user name"],
    ["an API_TOKENS entry with no token", { env: { API_TOKENS: "admin:" } }, "entry 1 has no usable token"],
    ["an API_TOKENS value given twice", { env: { API_TOKENS: `a:${"9f".repeat(20)},b:${"9f".repeat(20)}`, KEYWARD_ALLOW_WEAK_ENV_TOKENS: "true" } }, "entries 1 and 2 have the same token"],
    ["KEYWARD_ADMIN_TOKEN also in API_TOKENS", { env: { KEYWARD_ADMIN_TOKEN: "8c1f4be2a90d7e3356f1c0b9a4d2e8f7", API_TOKENS: "ops:8c1f4be2a90d7e3356f1c0b9a4d2e8f7" } }, "KEYWARD_ADMIN_TOKEN and API_TOKENS entry 1 are the same token"],
  ];
  test.each(bad)("rejects %s, naming the source", (_, partial, message) => {
    expect(() => resolveConfig(sources(partial))).toThrow(ConfigError);
    expect(() => resolveConfig(sources(partial))).toThrow(message);
  });
});

describe("environment tokens are checked at start", () => {
  const strong = "6a12a1f2250df9edcea50e7b00b30142f353749c1965960770a32ed2e61d3c64";
  const refusal = (env: Record<string, string>) => {
    try {
      resolveConfig(sources({ env }));
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error("expected a ConfigError");
  };

  test.each([
    ["openssl rand -hex 32", 256, strong],
    ["openssl rand -hex 16 (exactly 128 bits)", 128, strong.slice(0, 32)],
    ["a generated Keyward token", 316, "kw_8VLA8vvTyR47mAOFUlmZsqmUqVw0rxZslLysylzl2MR4cFIEc"],
    ["seed 001's short hex", 33, "6a12a1f2aa"],
    ["a word with a digit", 46, "password1"],
    ["lower case, digits and a dash", 177, "test-admin-token-0123456789abcdef"],
    ["one character 32 times", 1, "a".repeat(32)],
    ["a word repeated", 30, "password".repeat(4)],
    ["few different characters", 64, "ab".repeat(15) + "ba"],
  ])("%s counts as at most %i bits", (_, bits, secret) => {
    expect(secretBits(secret as string)).toBe(bits as number);
  });

  test("a value under 128 bits stops the start, naming the entry but never its value, and says how to make a good one", () => {
    const message = refusal({ API_TOKENS: `admin:${strong},analyst:9b34c5e6bb`, KEYWARD_ADMIN_TOKEN: "short-admin-secret" });
    expect(message).toContain("KEYWARD_ADMIN_TOKEN (at most 90 bits), API_TOKENS entry 2 (analyst) (at most 40 bits): too weak to be safe");
    expect(message).toContain("openssl rand -hex 32");
    expect(message).toContain("KEYWARD_ALLOW_WEAK_ENV_TOKENS=true");
    expect(message).not.toContain("9b34c5e6bb");
    expect(message).not.toContain("short-admin-secret");
  });

  test("KEYWARD_ALLOW_WEAK_ENV_TOKENS=true accepts weak values, and weakEnvTokens still names them (for the start-up warning)", () => {
    const config = resolveConfig(sources({ env: { API_TOKENS: "analyst:9b34c5e6bb", KEYWARD_ALLOW_WEAK_ENV_TOKENS: "true" } }));
    expect(config.apiTokens).toEqual([{ label: "analyst", token: "9b34c5e6bb" }]);
    expect(weakEnvTokens(config)).toEqual(["API_TOKENS entry 1 (analyst) (at most 40 bits)"]);
  });

  test("a token with a ':' after the label's (label:tok:en) could never travel in a Bearer header: refused, without echoing it", () => {
    const message = refusal({ API_TOKENS: `label:${strong.slice(0, 40)}:${strong.slice(40)}` });
    expect(message).toContain("API_TOKENS: entry 1: its token has a character a Bearer header cannot carry (':' is there: only the first ':' of an entry separates its label)");
    expect(message).not.toContain(strong.slice(40));
    expect(refusal({ KEYWARD_ADMIN_TOKEN: `${strong} with spaces` })).toContain("KEYWARD_ADMIN_TOKEN: has a character a Bearer header cannot carry");
  });

  test("a kw_ value with a bad checksum (a mistyped Keyward token) stops the start instead of being a key that never works", () => {
    const good = "kw_8VLA8vvTyR47mAOFUlmZsqmUqVw0rxZslLysylzl2MR4cFIEc";
    const mistyped = `${good.slice(0, 10)}X${good.slice(11)}`;
    expect(resolveConfig(sources({ env: { KEYWARD_ADMIN_TOKEN: good } })).adminToken).toBe(good);
    expect(refusal({ KEYWARD_ADMIN_TOKEN: mistyped })).toBe(
      "KEYWARD_ADMIN_TOKEN: looks like a Keyward token (kw_…) but its checksum is wrong, so it could never be accepted: it was mistyped or cut short; copy it again",
    );
    expect(refusal({ API_TOKENS: `ops:${mistyped}` })).toContain("API_TOKENS: entry 1: its token looks like a Keyward token (kw_…) but its checksum is wrong");
  });
});

describe("sign-in portal settings", () => {
  const portal = (env: Record<string, string>) => resolveConfig(sources({ env }));

  test("a public URL is kept as its origin; a cookie domain lower-cased, a leading dot dropped; lifetimes parsed", () => {
    const config = portal({ KEYWARD_PUBLIC_URL: "https://Auth.Home.LAN/", KEYWARD_COOKIE_DOMAIN: ".Home.LAN", KEYWARD_SESSION_IDLE: "30m", KEYWARD_SESSION_MAX: "2d" });
    expect(config).toMatchObject({ publicUrl: "https://auth.home.lan", cookieDomain: "home.lan", sessionIdle: 1_800_000, sessionMax: 172_800_000 });
    expect(portal({ KEYWARD_PUBLIC_URL: "http://192.168.1.5:8000" }).publicUrl).toBe("http://192.168.1.5:8000");
  });

  test.each([
    ["a relative URL", { KEYWARD_PUBLIC_URL: "auth.home.lan" }, 'KEYWARD_PUBLIC_URL="auth.home.lan": must be an absolute http:// or https:// URL'],
    ["another scheme", { KEYWARD_PUBLIC_URL: "ftp://auth.home.lan" }, "must start with http:// or https://"],
    ["a path", { KEYWARD_PUBLIC_URL: "https://home.lan/keyward" }, "must be the origin only"],
    ["a query", { KEYWARD_PUBLIC_URL: "https://home.lan/?a=b" }, "must be the origin only"],
    ["credentials", { KEYWARD_PUBLIC_URL: "https://u:p@home.lan" }, "must not hold a user name or password"],
    ["a cookie domain that is not a name", { KEYWARD_PUBLIC_URL: "https://auth.home.lan", KEYWARD_COOKIE_DOMAIN: "home arpa" }, "must be a domain name"],
    ["a cookie domain not covering the public host", { KEYWARD_PUBLIC_URL: "https://auth.home.lan", KEYWARD_COOKIE_DOMAIN: "office.lan" }, "does not cover KEYWARD_PUBLIC_URL's host auth.home.lan"],
    ["a look-alike suffix", { KEYWARD_PUBLIC_URL: "https://authhome.lan", KEYWARD_COOKIE_DOMAIN: "home.lan" }, "does not cover"],
    ["a cookie domain without a public URL", { KEYWARD_COOKIE_DOMAIN: "home.lan" }, "KEYWARD_COOKIE_DOMAIN is set without KEYWARD_PUBLIC_URL"],
    ["an idle lifetime under a minute", { KEYWARD_SESSION_IDLE: "30s" }, "must be at least a minute"],
    ["an idle lifetime that is not a duration", { KEYWARD_SESSION_IDLE: "soon" }, "is not a duration"],
    ["an idle lifetime past the absolute one", { KEYWARD_SESSION_IDLE: "8d" }, "KEYWARD_SESSION_IDLE is longer than KEYWARD_SESSION_MAX"],
  ])("refuses %s", (_, env, message) => {
    expect(() => portal(env)).toThrow(ConfigError);
    expect(() => portal(env)).toThrow(message);
  });
});
