import { proofUri, type ProofRequest } from "../modules/auth/dpop";

/** What a request offers for a DPoP check (see ProofRequest), built once per request. */
export interface ProofRequests {
  /** A request to Keyward's own routes. */
  self(request: Request): ProofRequest;
  /** The request a proxy asks forward auth about: its method and URL, as the proxy forwards them. */
  forwarded(request: Request): ProofRequest;
}

const dpopScheme = /^dpop\s/i;

/**
 * A proof names the URL the device called. For Keyward's own routes that is this request's URL
 * under any name it is reached by: its Host, the host a proxy forwards (X-Forwarded-Proto and
 * -Host), or KEYWARD_PUBLIC_URL. Those headers are the client's to set, so they widen nothing a
 * replaying client lacks; a proof is held to its method and path, a minute, and one use.
 */
export function proofRequests(publicUrl: string | null): ProofRequests {
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
  return {
    self: (request) =>
      once(request, () => {
        const { pathname } = new URL(request.url);
        const { headers } = request;
        const proto = headers.get("x-forwarded-proto");
        const host = headers.get("x-forwarded-host");
        const names = [request.url, proto && host ? `${proto}://${host}${pathname}` : null, publicOrigin && `${publicOrigin}${pathname}`];
        return { method: request.method, uris: known(names) };
      }),
    forwarded: (request) =>
      once(request, () => {
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
