import type { Cidr } from "../lib/cidr";
import { proofUri, type ProofRequest } from "../modules/auth/dpop";
import { fromTrustedProxy, type PeerSource } from "./client-ip";

/** What a request offers for a DPoP check (see ProofRequest), built once per request. */
export interface ProofRequests {
  /** A request to Keyward's own routes. */
  self(request: Request): ProofRequest;
  /** The request a proxy asks forward auth about: its method and URL, as the proxy forwards them. */
  forwarded(request: Request): ProofRequest;
}

export interface ProofRequestDeps {
  /** KEYWARD_PUBLIC_URL: when set, the one name Keyward's own routes answer to in a proof. */
  publicUrl: string | null;
  trustedProxies: readonly Cidr[];
  /** The listening server, for a request's socket peer (as for client addresses). */
  peers: () => PeerSource | null;
}

const dpopScheme = /^dpop\s/i;

/**
 * The URL a proof must name. Keyward's own routes: KEYWARD_PUBLIC_URL's origin if set, else the
 * request's Host (nothing better to go on), and the host a trusted proxy forwards. Forward auth:
 * the method and URL the proxy forwards. A client names its Host and forwarding headers itself, so
 * only configuration and KEYWARD_TRUSTED_PROXIES narrow them: a proof the device made for another
 * server with the same path is then refused here (see the README's DPoP section).
 */
export function proofRequests({ publicUrl, trustedProxies, peers }: ProofRequestDeps): ProofRequests {
  const publicOrigin = publicUrl === null ? null : new URL(publicUrl).origin;
  const built = new WeakMap<Request, ProofRequest>();
  const once = (request: Request, build: () => Omit<ProofRequest, "dpopScheme" | "proof">): ProofRequest => {
    let found = built.get(request);
    if (found === undefined) {
      const { headers } = request;
      found = { dpopScheme: dpopScheme.test(headers.get("authorization") ?? ""), proof: headers.get("dpop"), ...build() };
      built.set(request, found);
    }
    return found;
  };
  const trusted = (request: Request) => fromTrustedProxy(request, peers(), trustedProxies);
  return {
    self: (request) =>
      once(request, () => {
        const { pathname } = new URL(request.url);
        const { headers } = request;
        const proto = headers.get("x-forwarded-proto");
        const host = headers.get("x-forwarded-host");
        const forwarded = proto && host && trusted(request) ? `${proto}://${host}${pathname}` : null;
        return { method: request.method, uris: known([publicOrigin === null ? request.url : `${publicOrigin}${pathname}`, forwarded]) };
      }),
    forwarded: (request) =>
      once(request, () => {
        // With trusted proxies named, a caller that is not one names no URL; with none, every caller is taken for the proxy.
        if (trustedProxies.length > 0 && !trusted(request)) return { method: null, uris: [] };
        const { headers } = request;
        // Caddy and Traefik send X-Forwarded-Method and -Uri; the README's nginx snippet X-Original-Method and -URL.
        // Each proxy replaces its own pair and passes the other on from the client, so all present
        // must agree: a client adding the other pair cannot move a proof to another method or URL.
        const proto = headers.get("x-forwarded-proto");
        const host = headers.get("x-forwarded-host");
        const uri = headers.get("x-forwarded-uri");
        const methods = new Set([headers.get("x-forwarded-method"), headers.get("x-original-method")].filter((method) => method !== null));
        const uris = known([headers.get("x-original-url"), proto && host && uri ? `${proto}://${host}${uri.startsWith("/") ? uri : `/${uri}`}` : null]);
        return methods.size === 1 && uris.length === 1 ? { method: [...methods][0]!, uris } : { method: null, uris: [] };
      }),
  };
}

/** The URLs a proof may name, as it is compared: no query, no fragment, normalised. */
function known(urls: readonly (string | null)[]): string[] {
  const uris: string[] = [];
  for (const url of urls) {
    const uri = url === null ? null : proofUri(url);
    if (uri !== null && !uris.includes(uri)) uris.push(uri);
  }
  return uris;
}
