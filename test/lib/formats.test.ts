import { describe, expect, test } from "bun:test";
import { cidrContains, lockoutBucket, normalizeIp, parseCidr, parseIp } from "../../src/lib/cidr";
import { parseDuration, parseLifetime } from "../../src/lib/durations";
import { generateToken, hasValidChecksum, hashToken, looksLikeToken, tokenHint } from "../../src/lib/token-format";

describe("Keyward tokens", () => {
  test("are kw_ plus 49 base62 characters, and every one is different", () => {
    const tokens = Array.from({ length: 1000 }, generateToken);
    for (const token of tokens) {
      expect(token).toMatch(/^kw_[0-9A-Za-z]{49}$/);
      expect(token.length).toBe(52);
      expect(hasValidChecksum(token)).toBe(true);
    }
    expect(new Set(tokens).size).toBe(1000);
  });

  test("one mistyped character fails the checksum", () => {
    const token = generateToken();
    for (let i = 3; i < token.length; i++) {
      const typo = token.slice(0, i) + (token[i] === "a" ? "b" : "a") + token.slice(i + 1);
      expect(hasValidChecksum(typo)).toBe(false);
    }
  });

  test.each(["", "kw_", "kw_short", `KW_${"a".repeat(49)}`, `kw_${"a".repeat(48)}!`, `kw_${"a".repeat(50)}`])(
    "%p is not a token's shape",
    (text) => {
      expect(looksLikeToken(text)).toBe(false);
      expect(hasValidChecksum(text)).toBe(false);
    },
  );

  test("are stored as a SHA-256 hex digest, and shown by a hint of prefix and last 4", () => {
    const token = generateToken();
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token.slice(3, 20));
    expect(tokenHint(token)).toBe(`kw_…${token.slice(-4)}`);
    expect(tokenHint("6a12a1f2250df9edcea5")).toBe("…");
  });
});

describe("durations", () => {
  test.each([
    ["45s", 45_000],
    ["30m", 1_800_000],
    ["12h", 43_200_000],
    ["90d", 7_776_000_000],
    ["2w", 1_209_600_000],
    ["0s", 0],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(["", "10", "-5m", "1.5h", "5 minutes", "1y", "99999999999d"])("%p is refused", (text) => {
    expect(() => parseDuration(text)).toThrow();
  });

  test("a lifetime is a positive duration or never", () => {
    expect(parseLifetime("never")).toBeNull();
    expect(parseLifetime("NEVER")).toBeNull();
    expect(parseLifetime("1h")).toBe(3_600_000);
    expect(() => parseLifetime("0s")).toThrow("is zero");
  });

});

describe("IP addresses and ranges", () => {
  test.each([
    ["10.0.0.0/8", "10.200.3.4", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["192.168.1.7", "192.168.1.7", true],
    ["192.168.1.7", "192.168.1.8", false],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["fd00::/8", "fd12:3456::1", true],
    ["fd00::/8", "fe80::1", false],
    ["::1", "::1", true],
    ["127.0.0.0/8", "::ffff:127.0.0.1", true],
    ["10.0.0.0/8", "::a00:1", false],
  ])("%s contains %s: %p", (range, address, inside) => {
    expect(cidrContains(parseCidr(range), parseIp(address)!)).toBe(inside);
  });

  test("ranges are canonical: host bits cleared, bare addresses become /32 or /128", () => {
    expect(parseCidr("10.1.2.3/8").text).toBe("10.0.0.0/8");
    expect(parseCidr("192.168.1.7").text).toBe("192.168.1.7/32");
    expect(parseCidr("2001:db8::1/32").text).toBe("2001:db8::/32");
    expect(parseCidr("::1").text).toBe("::1/128");
  });

  test.each(["", "10.0.0.0/33", "256.0.0.1", "10.0.0/8", "1::2::3", "host.lan", "10.0.0.0/8/8", "::/129", "01.2.3.4"])(
    "%p is refused",
    (text) => {
      expect(() => parseCidr(text)).toThrow("is not an IP address or CIDR range");
    },
  );

  test("IPv4-mapped IPv6 addresses are written as IPv4", () => {
    expect(normalizeIp("::ffff:192.168.1.5")).toBe("192.168.1.5");
    expect(normalizeIp("::FFFF:c0a8:105")).toBe("192.168.1.5");
    expect(normalizeIp("FE80::1")).toBe("fe80::1");
  });

  test.each([
    ["2001:db8::1", ["2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0::1", "2001:db8::0:1", "[2001:db8::1]", "2001:db8::1%eth0"]],
    ["2001:db8::1:0:0:1", ["2001:db8:0:0:1:0:0:1", "2001:0DB8::1:0:0:1"]],
    ["2001:db8:0:1:1:1:1:1", ["2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"]],
    ["::", ["0:0:0:0:0:0:0:0", "::0"]],
    ["::1", ["0:0:0:0:0:0:0:1", "::0:1"]],
    ["fe80::1", ["fe80:0:0:0:0:0:0:1", "FE80::1%25", "fe80::0001%en0"]],
    ["2001:db8::", ["2001:db8:0:0:0:0:0:0"]],
    ["203.0.113.9", ["203.0.113.9", "::ffff:203.0.113.9", "::FFFF:cb00:7109", "0:0:0:0:0:ffff:203.0.113.9", "[::ffff:203.0.113.9]"]],
  ])("every spelling of %s is written one way (RFC 5952)", (canonical, spellings) => {
    for (const spelling of [canonical, ...spellings]) expect(`${spelling} → ${normalizeIp(spelling)}`).toBe(`${spelling} → ${canonical}`);
  });

  test("text that is not an address is left as it is", () => {
    for (const text of ["unknown", "host.lan", "1::2::3", "::ffff:999.0.0.1"]) expect(normalizeIp(text)).toBe(text);
  });
});

describe("lockout buckets", () => {
  test.each([
    ["192.168.1.5", ["192.168.1.5", "::ffff:192.168.1.5", "::FFFF:c0a8:105"]],
    ["2001:db8:1:2::/64", ["2001:db8:1:2::1", "2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002:abcd::7", "2001:db8:1:2::1%eth0", "[2001:db8:1:2::9]"]],
    ["::/64", ["::1", "::"]],
    ["fe80::/64", ["fe80::1", "fe80::aaaa:bbbb:cccc:dddd%en0"]],
  ])("every address in %s shares one key", (bucket, addresses) => {
    for (const address of addresses) expect(`${address} → ${lockoutBucket(address)}`).toBe(`${address} → ${bucket}`);
  });

  test("neighbouring IPv4 addresses and neighbouring IPv6 /64s are counted apart", () => {
    expect(lockoutBucket("192.168.1.5")).not.toBe(lockoutBucket("192.168.1.6"));
    expect(lockoutBucket("2001:db8:1:2::1")).not.toBe(lockoutBucket("2001:db8:1:3::1"));
    expect(lockoutBucket("2001:db8:1:2::1")).not.toBe(lockoutBucket("2001:db9:1:2::1"));
  });

  test("text that is not an address is its own key", () => {
    expect(lockoutBucket("unknown")).toBe("unknown");
  });
});
