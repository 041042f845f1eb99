import { Elysia, t, type ValidationError } from "elysia";
import { DomainError, type FailureKind } from "../lib/errors";
import type { Logger } from "../log";
import { loggedPath, pathOf, redactSecrets } from "./log-redaction";

/** The one error shape of every 4xx and 5xx answer: a message safe to show and a stable code. */
export const ErrorBody = t.Object(
  {
    error: t.String({ description: "What went wrong, in words safe to show a user" }),
    code: t.String({ description: "A stable snake_case code for programs", examples: ["not_found"] }),
    detail: t.String({ description: "The same message as error, under the key clients written for FastAPI services read" }),
  },
  { title: "Error" },
);
export type ErrorBody = typeof ErrorBody.static;

const statusOf: Record<FailureKind, number> = { invalid: 422, not_found: 404, conflict: 409, forbidden: 403 };

export const errorBody = (code: string, error: string): ErrorBody => ({ error, code, detail: error });

/** A refusal decided below a route, while its body is read: the answer it carries is the answer. */
export class ParseRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.error);
  }
}

/**
 * Maps every failure to the error shape. Internals (stack traces, SQL, parser details) go to the
 * log; the client only learns what it can act on.
 */
export const errorHandling = (log: Logger) =>
  new Elysia({ name: "keyward/errors" }).onError({ as: "global" }, ({ code, error, request, set }) => {
    if (error instanceof DomainError) {
      set.status = statusOf[error.kind];
      return errorBody(error.code, error.message);
    }
    switch (code) {
      case "NOT_FOUND":
        set.status = 404;
        return errorBody("not_found", `No route for ${request.method} ${pathOf(request.url)}`);
      case "PARSE":
        if (error.cause instanceof ParseRefusal) {
          set.status = error.cause.status;
          return error.cause.body;
        }
        set.status = 400;
        return errorBody("malformed_body", "The request body could not be parsed as its Content-Type says");
      case "VALIDATION":
        if (error.type === "response") break;
        set.status = 422;
        return errorBody("validation_failed", describeValidation(error));
      case "INVALID_COOKIE_SIGNATURE":
        set.status = 400;
        return errorBody("invalid_cookie", "A signed cookie was tampered with");
    }
    if (databaseBusy(error)) {
      // Another process (the CLI, a restore) held the write lock past the busy timeout: worth a retry.
      log.warn("database busy", { method: request.method, path: loggedPath(request.url) });
      set.status = 503;
      set.headers["retry-after"] = "1";
      return errorBody("database_busy", "The database is busy; try again in a moment");
    }
    const status = typeof code === "number" ? code : 500;
    if (status >= 500) {
      log.error("request failed", { method: request.method, path: loggedPath(request.url), error: describeError(error) });
      dropUnsendableHeaders(set.headers);
    }
    set.status = status;
    return errorBody(status >= 500 ? "internal_error" : "request_failed", status >= 500 ? "Internal server error" : "Request failed");
  });

const INTERNAL_ERROR = errorBody("internal_error", "Internal server error");

/**
 * Options for Bun.serve: production mode (Bun's development mode answers an uncaught error with
 * an HTML page showing the stack and source paths), and a last answer in the error shape for an
 * error that escapes Elysia's own handling, such as one thrown while sending a response.
 */
export const serverErrorOptions = (log: Logger) => ({
  development: false,
  error(error: unknown): Response {
    log.error("request failed", { error: describeError(error) });
    return Response.json(INTERNAL_ERROR, { status: 500, headers: { connection: "close" } });
  },
});

/** SQLite's "database is locked", as bun:sqlite throws it or as drizzle wraps it. */
function databaseBusy(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === "SQLITE_BUSY") return true;
  }
  return false;
}

function describeError(error: unknown): string {
  return redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error));
}

/**
 * A header value Bun cannot send (outside Latin-1, or with a line break) fails the answer that
 * carries it; dropped, so that at least the 500 reaches the client.
 */
function dropUnsendableHeaders(headers: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string" && !/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) delete headers[name];
  }
}

function describeValidation(error: Pick<ValidationError, "all" | "type">): string {
  const first = error.all[0];
  if (!first) return `Invalid ${error.type}`;
  const where = first.path ? `${error.type}${first.path.replaceAll("/", ".")}` : error.type;
  return `Invalid ${where}: ${first.summary ?? first.message}`;
}
