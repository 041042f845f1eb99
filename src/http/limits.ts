import { errorBody, ParseRefusal } from "./errors";

/** Keyward's bodies are small JSON or forms; anything near this size is a mistake or an attack. */
export const MAX_BODY_BYTES = 1024 * 1024;

const BODY_TOO_LARGE = errorBody("body_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);

/**
 * Bounds a request's body at MAX_BODY_BYTES, answered with 413 in the error shape when a route
 * reads it: a declared length over the limit fails the first read without reading anything, and a
 * body without a length (chunked) is counted as it streams, its reading stopping at the limit. A
 * route that reads no body is not concerned; Bun discards such a body unread, up to its own cap.
 * Called for every request by the envelope (envelope.ts), before the route runs: a GET pays one
 * method check. (A global parse hook would make every route's generated handler asynchronous.)
 *
 * The 413 keeps the connection open on purpose. The client may still be writing its body: a server
 * that closes with unread bytes makes the kernel send a reset, and the client's stack then throws
 * away the 413 it had already received. Left open, Bun reads the rest of the body after the
 * answer and discards it as it arrives (memory stays flat), then serves the next request.
 */
export function limitBody(request: Request): void {
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") bound(request);
}

const refused = Symbol("keyward.bodyRefused");

/**
 * For a route whose body is optional: Elysia reads such a body inside a try that swallows every
 * error, our 413 included, and would run the handler with no body (a login attempt, say). This
 * guard, as the route's `beforeHandle`, answers the 413 instead.
 */
export function refuseCutBody({ request, set }: { request: Request; set: { status?: number | string } }) {
  if (!(request as { [refused]?: true })[refused]) return;
  set.status = 413;
  return BODY_TOO_LARGE;
}

/** Marks the request (for `refuseCutBody`) and throws the 413 for the error plugin to answer. */
function refuseBody(request: Request): never {
  (request as { [refused]?: true })[refused] = true;
  throw new ParseRefusal(413, BODY_TOO_LARGE);
}

const readers = ["arrayBuffer", "blob", "bytes", "formData", "json", "text"] as const;

/** A declared length over the limit fails the first read; a body without one is counted as it streams. */
function bound(request: Request): void {
  const length = request.headers.get("content-length");
  if (length === null) {
    if (request.body !== null) readThrough(request, () => readBounded(request));
  } else if (Number(length) > MAX_BODY_BYTES) {
    readThrough(request, () => refuseBody(request));
  }
}

/**
 * Shadows the request's body readers, which Elysia's parsers call, with ones that take the bytes
 * from `read` and then parse as the originals would: memory per upload stays at the limit, however
 * much the client sends. The request object itself must stay, as Bun finds the client's address
 * (server.requestIP) by it.
 */
function readThrough(request: Request, read: () => Promise<Uint8Array<ArrayBuffer>>): void {
  let bytes: Promise<Uint8Array<ArrayBuffer>> | undefined;
  const type = request.headers.get("content-type");
  for (const reader of readers) {
    Object.defineProperty(request, reader, {
      value: async () => {
        bytes ??= read();
        const copy = new Response(await bytes, type === null ? {} : { headers: { "content-type": type } });
        return copy[reader]();
      },
    });
  }
}

async function readBounded(request: Request): Promise<Uint8Array<ArrayBuffer>> {
  const reader = request.body!.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    total += next.value.byteLength;
    if (total > MAX_BODY_BYTES) {
      void reader.cancel();
      refuseBody(request);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks, total);
}
