import { Elysia } from "elysia";
import type { Cidr } from "../lib/cidr";
import { clientIp } from "./client-ip";

interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

/** Resolves a request's client address, at most once per request. */
export type AddressOf = (request: Request, server: PeerSource | null) => string;

const resolved = Symbol("keyward.clientAddress");

export function addressResolver(trustedProxies: readonly Cidr[]): AddressOf {
  return (request, server) => ((request as { [resolved]?: string })[resolved] ??= clientIp(request, server, trustedProxies));
}

/**
 * The one place a route gets its client's address from: `clientAddress(request, server)`. Asked
 * only when needed (a failure, an address allowlist, a usage record), and then once per request,
 * since asking the socket is a system call.
 */
export const clientAddress = (addressOf: AddressOf) => new Elysia({ name: "keyward/client-address" }).decorate("clientAddress", addressOf);
