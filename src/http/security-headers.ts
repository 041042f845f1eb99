/** On every answer: no MIME sniffing (echo returns user text), no framing, no referrer leaks. */
export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
} as const;

const entries = Object.entries(SECURITY_HEADERS);

/**
 * Puts the security headers on an answer's headers, set by the envelope (envelope.ts) on every response
 * Elysia produces, errors and 404s included. Not Elysia's `.headers()`: that copies its headers
 * into each request's context and makes Elysia hand them to every response as a plain object,
 * which Bun reads property by property; setting them on the finished response measured about 4%
 * more throughput on GET /data (bench/RESULTS.md). No route sets these three itself; a hot route's
 * answer is born with them (SecuredJson, below).
 */
export function secure(headers: Headers): void {
  for (const [name, value] of entries) headers.set(name, value);
}

// The content type Bun gives JSON (Response.json), as on every other JSON answer.
const JSON_TYPE = Response.json(null).headers.get("content-type") ?? "application/json";
const SECURED_JSON = new Headers({ "content-type": JSON_TYPE, ...SECURITY_HEADERS });

/**
 * A hot route's answer, JSON born with the security headers (issue 13). Elysia passes a Response on
 * as it is, so the route's response schema is not checked at run time (7% of the short-token
 * check's throughput, its date-time format above all): it stays in the OpenAPI document, against
 * which test/tools/openapi.tools.ts holds these answers. The envelope, seeing one, does not set the
 * headers again. Written `new SecuredJson(…)`: a route returning a call (`=> f(…)`) is compiled
 * as asynchronous (see http/deferred.ts).
 */
export class SecuredJson<T> extends Response {
  /** `headers`, from `securedJsonHeaders`, adds the answer's own; a Response copies what it is given. */
  constructor(body: T, headers: Headers = SECURED_JSON) {
    super(JSON.stringify(body), { headers });
  }
}

/** A SecuredJson's headers with `extra` after them: made once and kept by whoever answers with them often. */
export function securedJsonHeaders(extra: readonly (readonly [string, string])[]): Headers {
  const headers = new Headers(SECURED_JSON);
  for (const [name, value] of extra) headers.set(name, value);
  return headers;
}
