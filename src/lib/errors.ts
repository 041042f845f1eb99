/** What kind of failure: the HTTP layer maps it to a status, the CLI to a message and exit 1. */
export type FailureKind = "invalid" | "not_found" | "conflict" | "forbidden";

/**
 * A failure a service reports on purpose, with a stable code and a message safe to show.
 * Services stay free of HTTP: the error plugin turns the kind into 422/404/409/403.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
