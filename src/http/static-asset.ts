import type { BunFile } from "bun";

/**
 * A handler answering one embedded asset (a page, a script, a stylesheet) with its type, cache
 * rule and Content-Security-Policy. A file is opened per request: Bun streams it from the binary.
 */
export function staticAsset(body: string | (() => BunFile), type: string, policy: string, cache = "public, max-age=86400") {
  return () =>
    new Response(typeof body === "string" ? body : body(), {
      headers: { "content-type": type, "cache-control": cache, "content-security-policy": policy },
    });
}
