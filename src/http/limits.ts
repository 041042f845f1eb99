import { Elysia } from "elysia";
import { errorBody } from "./errors";

/** Keyward's bodies are small JSON or forms; anything near this size is a mistake or an attack. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Refuses a declared body over the limit with 413 in the error shape, before reading it. Bun
 * itself cuts off bodies past the same size (chunked ones without a length), answering a bare 413.
 */
export const bodyLimit = new Elysia({ name: "keyward/body-limit" }).onRequest(({ request, set }) => {
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > MAX_BODY_BYTES) {
    set.status = 413;
    set.headers.connection = "close";
    return errorBody("body_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  }
});
