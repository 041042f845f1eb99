import { Elysia, t, type TSchema, type ValidationError } from "elysia";
import { isTransientDbError } from "../db/errors";
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

/** The error answers that come with what a route does, besides those it decides itself. */
const failures = {
  /** Needs a credential: none or a bad one (401), not the role or address (403), locked out (429). */
  credential: [401, 403, 429],
  /** Reads a body: unparseable as its Content-Type (400), over the size limit (413), not the declared shape (422). */
  body: [400, 413, 422],
  /** Takes a query or path parameters: not the declared shape (422). */
  input: [422],
} as const;
type Failure = keyof typeof failures;
type Answers<R, F extends Failure> = Omit<Record<500 | 503 | (typeof failures)[F][number], typeof ErrorBody>, keyof R> & R;

/**
 * A route's `response`: its own answers, the error answers of what it does, and 500 and 503 (a
 * database another process holds, with Retry-After), which any route can give. Declared, so that the OpenAPI document lists every status a client can meet.
 */
export function withFailures<const R extends Record<number, TSchema>, F extends Failure = never>(
  own: R,
  ...does: F[]
): Answers<R, F> {
  const statuses = [500, 503, ...does.flatMap((kind) => failures[kind])];
  return { ...Object.fromEntries(statuses.map((status) => [status, ErrorBody])), ...own } as Answers<R, F>;
}

/**
 * A refusal decided below a route, while its body is read: the answer it carries is the answer. Its
 * body is in the error shape, or in OAuth's (RFC 6749 §5.2) on an OAuth endpoint.
 */
export class ParseRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | { error: string; error_description: string },
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
    if (typeof code === "number" && code < 500) {
      set.status = code;
      return errorBody("request_failed", "Request failed");
    }
    const failure = serverFailure(log, request, error);
    if (failure.status === 500) dropUnsendableHeaders(set.headers);
    Object.assign(set.headers, failure.headers);
    set.status = failure.status;
    return failure.body;
  });

const INTERNAL_ERROR = errorBody("internal_error", "Internal server error");
const DATABASE_BUSY = errorBody("database_busy", "The database is busy; try again in a moment");

export interface ServerFailure {
  status: 500 | 503;
  body: ErrorBody;
  headers: Record<string, string>;
}

/** While the database stays busy or out of reach, how often that is logged again. */
export const BUSY_LOG_EVERY_MS = 10_000;

/** Per logger: when "database busy" was last logged, and how many since were not. */
const busyLogged = new WeakMap<Logger, { at: number; held: number }>();

/**
 * An error no route expected, logged and answered without its internals: 503 for a busy
 * database (another process, the CLI or a restore, held the write lock past the busy timeout, a
 * write met another's open transaction, PostgreSQL out of reach: worth a retry), 500 for anything
 * else. A busy database is logged at most every BUSY_LOG_EVERY_MS, with how many were not: during
 * an outage every request meets it, and anyone can send requests.
 */
export function serverFailure(log: Logger, request: Request, error: unknown, now = Date.now()): ServerFailure {
  const where = { method: request.method, path: loggedPath(request.url) };
  if (isTransientDbError(error)) {
    const last = busyLogged.get(log);
    if (last === undefined || now - last.at >= BUSY_LOG_EVERY_MS || now < last.at) {
      log.warn("database busy", { ...where, ...(last?.held ? { not_logged_since: last.held } : {}) });
      busyLogged.set(log, { at: now, held: 0 });
    } else last.held++;
    return { status: 503, body: DATABASE_BUSY, headers: { "retry-after": "1" } };
  }
  log.error("request failed", { ...where, error: describeError(error) });
  return { status: 500, body: INTERNAL_ERROR, headers: {} };
}

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
