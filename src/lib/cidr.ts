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
  const groups = ipv6Groups(text);
  if (groups === null) return null;
  if (isIpv4Mapped(groups)) return { version: 4, value: BigInt(groups[6]! * 0x10000 + groups[7]!) };
  return { version: 6, value: groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n) };
}

const plainIpv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The one spelling of an address, so that a lockout, an audit row or a log line cannot be split
 * between `2001:DB8::1`, `2001:db8:0:0::1` and `[2001:db8::1]`: IPv4 as dotted decimal, IPv4-mapped
 * IPv6 as IPv4, other IPv6 in RFC 5952 form (lower case, longest zero run compressed), zone id
 * dropped. Text that is not an address comes back unchanged.
 */
export function normalizeIp(text: string): string {
  // The common cases need no parsing: a plain IPv4 peer, or one mapped into IPv6.
  if (plainIpv4.test(text)) return text;
  if (text.startsWith("::ffff:") && plainIpv4.test(text.slice(7))) return text.slice(7);
  let canonical = canonicalIpv6.get(text);
  if (canonical !== undefined) return canonical;
  const groups = ipv6Groups(unbracket(text));
  if (groups === null) return text;
  canonical = isIpv4Mapped(groups) ? `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}` : formatIpv6(groups);
  if (canonicalIpv6.size >= CANONICAL_CACHE_SIZE) canonicalIpv6.clear();
  canonicalIpv6.set(text, canonical);
  return canonical;
}

/** Spelling → canonical form for IPv6 peers, which repeat: parsing one costs about a microsecond. Bounded, as strangers fill it. */
const canonicalIpv6 = new Map<string, string>();
const CANONICAL_CACHE_SIZE = 4096;

/**
 * The key failed attempts from this address are counted under: an IPv4 address itself, an IPv6
 * address's /64. One host is usually given a whole /64 and can pick any address in it, so keying
 * on the full address would let it try 2^64 times; the cost is that hosts sharing a /64 (one LAN)
 * share a lockout.
 */
export function lockoutBucket(address: string): string {
  const canonical = normalizeIp(address);
  const groups = canonical.includes(":") ? ipv6Groups(canonical) : null;
  return groups === null ? canonical : `${formatIpv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
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
  const base = ip.version === 4 ? formatIpv4(value) : formatIpv6(Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - i * 16)) & 0xffffn)));
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

const hexGroup = /^[0-9a-fA-F]{1,4}$/;

/** The eight 16-bit groups of an IPv6 address (zone id ignored), or null. Numbers, not bigint: this runs per request. */
function ipv6Groups(text: string): number[] | null {
  const zone = text.indexOf("%");
  if (zone !== -1) {
    if (!/^[\w.-]+$/.test(text.slice(zone + 1))) return null;
    text = text.slice(0, zone);
  }
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) return null;
  const left = groupsOf(gap === -1 ? text : text.slice(0, gap), gap === -1);
  const right = gap === -1 ? [] : groupsOf(text.slice(gap + 2), true);
  if (left === null || right === null) return null;
  const missing = 8 - left.length - right.length;
  if (gap === -1 ? missing !== 0 : missing < 1) return null;
  return [...left, ...Array<number>(missing).fill(0), ...right];
}

/** Colon-separated hex groups; the last may be an embedded IPv4 address (two groups). */
function groupsOf(text: string, mayEndInIpv4: boolean): number[] | null {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (hexGroup.test(part)) {
      groups.push(parseInt(part, 16));
      continue;
    }
    const v4 = mayEndInIpv4 && i === parts.length - 1 ? parseIpv4(part) : null;
    if (v4 === null) return null;
    groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
  }
  return groups;
}

function isIpv4Mapped(groups: number[]): boolean {
  return groups[5] === 0xffff && groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0;
}

function unbracket(text: string): string {
  return text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** RFC 5952: lower-case hex without leading zeros; the longest run of two or more zero groups (the first, on a tie) becomes `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) [bestStart, bestLength] = [i, end - i];
    i = end === i ? i + 1 : end;
  }
  const hex = (part: number[]) => part.map((group) => group.toString(16)).join(":");
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
