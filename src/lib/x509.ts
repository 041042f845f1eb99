import { parseIp } from "./cidr";

/** DER encoding, just enough of it for one self-signed certificate. */
const der = {
  tag(tag: number, ...parts: Uint8Array[]): Uint8Array {
    const body = concat(...parts);
    const length =
      body.length < 0x80 ? [body.length] : body.length < 0x100 ? [0x81, body.length] : [0x82, body.length >> 8, body.length & 0xff];
    return concat(new Uint8Array([tag, ...length]), body);
  },
  seq: (...parts: Uint8Array[]) => der.tag(0x30, ...parts),
  set: (...parts: Uint8Array[]) => der.tag(0x31, ...parts),
  integer(bytes: Uint8Array): Uint8Array {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0 && bytes[start + 1]! < 0x80) start++;
    const trimmed = bytes.subarray(start);
    return der.tag(0x02, trimmed[0]! >= 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed);
  },
  oid(text: string): Uint8Array {
    const [a, b, ...rest] = text.split(".").map(Number);
    const bytes = [a! * 40 + b!];
    for (const n of rest) {
      const chunk = [n & 0x7f];
      for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
      bytes.push(...chunk);
    }
    return der.tag(0x06, new Uint8Array(bytes));
  },
  utf8: (text: string) => der.tag(0x0c, new TextEncoder().encode(text)),
  time(date: Date): Uint8Array {
    const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    // UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
    return date.getUTCFullYear() < 2050 ? der.tag(0x17, new TextEncoder().encode(`${iso.slice(2)}Z`)) : der.tag(0x18, new TextEncoder().encode(`${iso}Z`));
  },
  octets: (bytes: Uint8Array) => der.tag(0x04, bytes),
  bits: (bytes: Uint8Array) => der.tag(0x03, new Uint8Array([0]), bytes),
  explicit: (n: number, inner: Uint8Array) => der.tag(0xa0 + n, inner),
};

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const pem = (label: string, bytes: Uint8Array) =>
  `-----BEGIN ${label}-----\n${Buffer.from(bytes).toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;

function altName(host: string): Uint8Array {
  const ip = parseIp(host);
  if (!ip) return der.tag(0x82, new TextEncoder().encode(host));
  const size = ip.version === 4 ? 4 : 16;
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Number((ip.value >> BigInt(8 * (size - 1 - i))) & 0xffn);
  return der.tag(0x87, bytes);
}

/** WebCrypto signs ECDSA as r‖s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }. */
function derSignature(raw: Uint8Array): Uint8Array {
  return der.seq(der.integer(raw.subarray(0, 32)), der.integer(raw.subarray(32)));
}

export interface SelfSigned {
  certificate: string;
  privateKey: string;
  /** SHA-256 of the certificate, colon-separated hex, for clients to pin. */
  fingerprint: string;
}

/** A self-signed ECDSA P-256 server certificate for the given names and addresses. */
export async function selfSignedCertificate(hosts: string[], days = 3650, now = new Date()): Promise<SelfSigned> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const ecdsaSha256 = der.seq(der.oid("1.2.840.10045.4.3.2"));
  const name = der.seq(der.set(der.seq(der.oid("2.5.4.3"), der.utf8(hosts[0] ?? "keyward"))));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0]! &= 0x7f;
  const extensions = der.seq(
    der.seq(der.oid("2.5.29.17"), der.octets(der.seq(...hosts.map(altName)))),
    der.seq(der.oid("2.5.29.19"), der.tag(0x01, new Uint8Array([0xff])), der.octets(der.seq())),
    der.seq(der.oid("2.5.29.15"), der.tag(0x01, new Uint8Array([0xff])), der.octets(der.tag(0x03, new Uint8Array([7, 0x80])))),
    der.seq(der.oid("2.5.29.37"), der.octets(der.seq(der.oid("1.3.6.1.5.5.7.3.1")))),
  );
  const tbs = der.seq(
    der.explicit(0, der.integer(new Uint8Array([2]))),
    der.integer(serial),
    ecdsaSha256,
    name,
    der.seq(der.time(new Date(now.getTime() - 60_000)), der.time(new Date(now.getTime() + days * 86_400_000))),
    name,
    spki,
    der.explicit(3, extensions),
  );
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, new Uint8Array(tbs)));
  const certificate = der.seq(tbs, ecdsaSha256, der.bits(derSignature(signature)));
  const digest = new Bun.CryptoHasher("sha256").update(certificate).digest("hex");
  return {
    certificate: pem("CERTIFICATE", certificate),
    privateKey: pem("PRIVATE KEY", pkcs8),
    fingerprint: digest.toUpperCase().match(/../g)!.join(":"),
  };
}
