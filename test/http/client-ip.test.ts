import { describe, expect, test } from "bun:test";
import { clientIp } from "../../src/http/client-ip";
import { parseCidr } from "../../src/lib/cidr";

const peer = (address: string) => ({ requestIP: () => ({ address }) });
const request = (forwardedFor?: string) => new Request("http://localhost/", { headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} });

describe("the client address every consumer sees (lockout, audit, allowed IPs, logs)", () => {
  test.each([
    ["2001:DB8:0:0::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::ffff:192.168.1.5", "192.168.1.5"],
    ["192.168.1.5", "192.168.1.5"],
  ])("a socket peer spelled %s is %s", (address, canonical) => {
    expect(clientIp(request(), peer(address), [])).toBe(canonical);
  });

  test("an address forwarded by a trusted proxy is canonical too", () => {
    const proxies = [parseCidr("10.0.0.0/8")];
    expect(clientIp(request("2001:DB8::0:1, 10.0.0.2"), peer("::ffff:10.0.0.1"), proxies)).toBe("2001:db8::1");
    expect(clientIp(request("[2001:db8::7]"), peer("10.0.0.1"), proxies)).toBe("2001:db8::7");
  });

  test("a client that is not a trusted proxy cannot claim an address", () => {
    expect(clientIp(request("2001:db8::1"), peer("2001:DB8::99"), [parseCidr("10.0.0.0/8")])).toBe("2001:db8::99");
  });
});
