const REDACTED = "[redacted]";

/** Worth a closer look: a segment that starts like a Keyward token or a JWT, a long one, or one under /api/v1/tokens/. */
const suspicious = /\/(?:kw_|eyJ|[^/]{20})|^\/api\/v1\/tokens\/./;

/** Long segments that are not secrets: public record ids and the docs page's file names. */
const publicSegment = /^(?:(?:tok|dev|dtk)_[0-9A-Za-z]{16}|[\w.-]+\.(?:js|css|map|png|svg|ico|woff2?|ttf))$/;

/** What the tokens API takes under /api/v1/tokens/ other than a token: a `tok_` id or one of its own words. */
const notATokenThere = /^(?:tok_[0-9A-Za-z]{16}|revoke|rotate|verify|main|)$/;

/**
 * The path of a request URL as it may be logged: without the query string, and with every segment
 * that may be a secret replaced by `[redacted]`. Keyward's own secrets (API tokens, device JWTs,
 * 32-character short tokens) are all 24 characters or longer, and an operator's environment token
 * at least 22 (the start-up check wants 128 bits, from at most 68 symbols), so a segment of 20 or
 * more is taken for one whatever it looks like; /api/v1/tokens/<x> takes a token of any length in
 * place of an id, in any segment after it (`/api/v1/tokens//<token>` routes there too).
 */
export function loggedPath(url: string): string {
  const path = pathOf(url);
  if (!suspicious.test(path)) return path;
  const segments = path.split("/");
  const underTokens = path.startsWith("/api/v1/tokens/");
  return segments
    .map((segment, i) => {
      if (underTokens && i >= 4) return notATokenThere.test(segment) ? segment : REDACTED;
      if (segment.startsWith("kw_") || segment.startsWith("eyJ")) return REDACTED;
      return segment.length >= 20 && !publicSegment.test(segment) ? REDACTED : segment;
    })
    .join("/");
}

const tokenInText = /kw_[0-9A-Za-z]+|eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

/** Error text on its way to the log: a token a query or a parser quoted is cut out. */
export function redactSecrets(text: string): string {
  return text.replace(tokenInText, REDACTED);
}

/** The path of an absolute request URL, without parsing all of it. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const end = url.indexOf("?", start);
  return url.slice(start, end === -1 ? undefined : end);
}
