import { Elysia } from "elysia";
import { errorBody, ParseRefusal } from "./errors";

/** Keyward's bodies are small JSON or forms; anything near this size is a mistake or an attack. */
export const MAX_BODY_BYTES = 1024 * 1024;

const BODY_TOO_LARGE = errorBody("body_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);

/**
 * Refuses a declared body over the limit with 413 in the error shape, before reading it. A body
 * without a length (chunked) is counted as it streams instead: reading it stops at the limit, and
 * the error plugin answers the same 413. Only the reading of such a body costs anything; the GET
 * hot paths pay one header lookup and one method check.
 *
 * The 413 keeps the connection open on purpose. The client may still be writing its body: a server
 * that closes with unread bytes makes the kernel send a reset, and the client's stack then throws
 * away the 413 it had already received. Left open, Bun reads the rest of the body after the
 * answer and discards it as it arrives (memory stays flat), then serves the next request.
 */
export const bodyLimit = new Elysia({ name: "keyward/body-limit" }).onRequest(({ request, set }) => {
  const length = request.headers.get("content-length");
  if (length !== null) {
    if (Number(length) <= MAX_BODY_BYTES) return;
    set.status = 413;
    return BODY_TOO_LARGE;
  }
  if (request.method !== "GET" && request.method !== "HEAD" && request.body !== null) countAsItStreams(request);
});

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

const readers = ["arrayBuffer", "blob", "bytes", "formData", "json", "text"] as const;

/**
 * Shadows the request's body readers, which Elysia's parsers call, with ones that read at most
 * MAX_BODY_BYTES and then parse as the originals would: memory per upload stays at the limit,
 * however much the client sends. The request object itself must stay, as Bun finds the client's
 * address (server.requestIP) by it.
 */
function countAsItStreams(request: Request): void {
  let bytes: Promise<Uint8Array<ArrayBuffer>> | undefined;
  const type = request.headers.get("content-type");
  for (const reader of readers) {
    Object.defineProperty(request, reader, {
      value: async () => {
        bytes ??= readBounded(request);
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
      (request as { [refused]?: true })[refused] = true;
      throw new ParseRefusal(413, BODY_TOO_LARGE);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks, total);
}
