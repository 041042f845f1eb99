import { ipInRanges, normalizeIp, parseIp, type Cidr } from "../lib/cidr";

/** Where the socket peer of a request comes from: Bun's server. */
export interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy; then the nearest
 * address in X-Forwarded-For that is not itself a trusted proxy. A client cannot claim an address
 * by sending the header itself, because its own connection is not from a trusted proxy.
 */
export function clientIp(request: Request, server: PeerSource | null, trustedProxies: readonly Cidr[]): string {
  const peer = peerOf(request, server);
  if (trustedProxies.length === 0 || !ipInRanges(peer, trustedProxies)) return peer;
  const forwarded = request.headers.get("x-forwarded-for");
  if (!forwarded) return peer;
  const hops = forwarded.split(",").map((hop) => normalizeIp(hop.trim())).filter((hop) => hop !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    // A hop that is not an address means the header is garbage: fall back to what we know.
    if (parseIp(hop) === null) return peer;
    if (!ipInRanges(hop, trustedProxies)) return hop;
  }
  return hops[0] ?? peer;
}

const peerOf = (request: Request, server: PeerSource | null) => normalizeIp(server?.requestIP(request)?.address ?? "unknown");

/** Whether the request's socket peer is one of KEYWARD_TRUSTED_PROXIES (none set: no peer is). */
export function fromTrustedProxy(request: Request, server: PeerSource | null, trustedProxies: readonly Cidr[]): boolean {
  return trustedProxies.length > 0 && ipInRanges(peerOf(request, server), trustedProxies);
}
