import type { Cidr } from "../lib/cidr";
import { clientIp, type PeerSource } from "./client-ip";

/**
 * A request's client address, resolved at most once per request: asking the socket is a system
 * call, so callers ask only when they need it (a failure, an address allowlist, a token's first
 * use in a usage flush).
 */
export type AddressOf = (request: Request) => string;

const resolved = Symbol("keyward.clientAddress");

/** `peers` is the listening server (null before it listens, or in a test without a socket). */
export function addressResolver(trustedProxies: readonly Cidr[], peers: () => PeerSource | null): AddressOf {
  return (request) => ((request as { [resolved]?: string })[resolved] ??= clientIp(request, peers(), trustedProxies));
}
