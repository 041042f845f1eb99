import { SECURITY_HEADERS } from "./security-headers";

// The content type Bun gives JSON (Response.json), as on every other JSON answer.
const JSON_TYPE = Response.json(null).headers.get("content-type") ?? "application/json";
const SECURED_JSON = new Headers({ "content-type": JSON_TYPE, ...SECURITY_HEADERS });

/** A body already written as JSON, for an answer made once and sent often (see PerCredential). */
export class Serialized<T> {
  readonly text: string;
  constructor(body: T) {
    this.text = JSON.stringify(body);
  }
}

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
  constructor(body: T | Serialized<T>, headers: Headers = SECURED_JSON) {
    super(body instanceof Serialized ? body.text : JSON.stringify(body), { headers });
  }
}

/** A SecuredJson's headers with `extra` after them: made once and kept by whoever answers with them often. */
export function securedJsonHeaders(extra: readonly (readonly [string, string])[]): Headers {
  const headers = new Headers(SECURED_JSON);
  for (const [name, value] of extra) headers.set(name, value);
  return headers;
}
