/** An IP address as a number, so that CIDR checks are two shifts and a compare. */
export interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

export interface Cidr extends IpAddress {
  prefix: number;
  /** The canonical text, e.g. `10.0.0.0/8`. */
  text: string;
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes IPv4. */
export function parseIp(text: string): IpAddress | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { version: 4, value: v4 };
  const v6 = parseIpv6(text.replace(/%[\w.-]+$/, ""));
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { version: 4, value: v6 & 0xffffffffn };
  return { version: 6, value: v6 };
}

const plainIpv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The address as Keyward shows and logs it: IPv4-mapped IPv6 written as plain IPv4. */
export function normalizeIp(text: string): string {
  // The common cases need no parsing: a plain IPv4 peer, or one mapped into IPv6.
  if (plainIpv4.test(text)) return text;
  if (text.startsWith("::ffff:") && plainIpv4.test(text.slice(7))) return text.slice(7);
  const ip = parseIp(text);
  if (!ip) return text;
  return ip.version === 4 ? formatIpv4(ip.value) : text.toLowerCase();
}

/** Parses `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). Throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [address = "", prefixText, ...rest] = text.trim().split("/");
  const ip = parseIp(address);
  const max = ip?.version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!ip || rest.length > 0 || !(prefix >= 0 && prefix <= max)) {
    throw new Error(`"${text}" is not an IP address or CIDR range (like 192.168.1.0/24 or fd00::/8)`);
  }
  const value = ip.value & mask(ip.version, prefix);
  const base = ip.version === 4 ? formatIpv4(value) : formatIpv6(value);
  return { version: ip.version, value, prefix, text: `${base}/${prefix}` };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.version === ip.version && (ip.value & mask(ip.version, cidr.prefix)) === cidr.value;
}

/** True when the address text falls in any of the ranges. */
export function ipInRanges(address: string, ranges: readonly Cidr[]): boolean {
  const ip = parseIp(address);
  return ip !== null && ranges.some((range) => cidrContains(range, ip));
}

function mask(version: 4 | 6, prefix: number): bigint {
  const bits = version === 4 ? 32n : 128n;
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : (all << (bits - BigInt(prefix))) & all;
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  // An embedded IPv4 tail (::ffff:1.2.3.4) is rewritten as the two hex groups it stands for.
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groupsOf(halves[0]!);
  const right = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const group of [...left, ...Array<string>(missing).fill("0"), ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return value;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - i * 16)) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}
