import { withinDomain } from "../../config-portal";
import { SESSION_COOKIE } from "./sessions";

/** The portal's settings, when KEYWARD_PUBLIC_URL turns it on. */
export interface Portal {
  /** The public URL's origin: `https://auth.home.arpa`. */
  publicUrl: string;
  /** The domain whose hosts share a sign-in; null: the public URL's host only. */
  cookieDomain: string | null;
  /** The absolute lifetime of a session: the cookie's Max-Age. */
  maxMs: number;
}

const MAX_URL = 4096;

/** The hosts a sign-in may send a browser back to, and whose pages the session cookie reaches. */
const ownsHost = ({ publicUrl, cookieDomain }: Portal, host: string) =>
  cookieDomain === null ? host === new URL(publicUrl).hostname : withinDomain(host, cookieDomain);

/**
 * Where a sign-in may send the browser: `rd` if it is an http(s) URL on a host the session covers,
 * else null (the portal's own page). No open redirect: `//evil.example`, `javascript:`, a
 * look-alike such as `home.arpa.evil.example` and credentials in the URL are all refused.
 */
export function followable(portal: Portal, rd: string | undefined): string | null {
  if (!rd || rd.length > MAX_URL) return null;
  let url: URL;
  try {
    url = new URL(rd);
  } catch {
    return null;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password) return null;
  return ownsHost(portal, url.hostname) ? url.href : null;
}

/** Where the first `rd=` of a query starts, and whether a literal http(s) URL follows it. */
const firstRd = /(?:^|&)rd=/;
const literalUrl = /^https?:\/\//i;

/**
 * The `rd` a GET of the sign-in page was sent with. nginx cannot percent-encode: its `return 302
 * …/signin?rd=$scheme://$http_host$request_uri` sends the URL as it is, `&` and `%XX` included. So
 * a first `rd` that is a literal http(s) URL runs to the end of the query, undecoded; any other is
 * decoded as usual (a percent-encoded URL, as /auth/forward sends). `followable` judges either.
 */
export function requestedRd(url: string): string | undefined {
  const query = url.indexOf("?");
  if (query === -1) return undefined;
  const rest = url.slice(query + 1);
  const found = firstRd.exec(rest);
  if (found === null) return undefined;
  const value = rest.slice(found.index + found[0].length);
  return literalUrl.test(value) ? value : (new URLSearchParams(rest).get("rd") ?? undefined);
}

const forwardedHost = /^([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;
/** A path and query as a proxy reports them: printable ASCII, starting with one slash. */
const forwardedUri = /^\/(?!\/)[\x21-\x7e]*$/;

/**
 * The URL a proxied browser asked for, rebuilt from X-Forwarded-Proto, -Host and -Uri (as Caddy
 * and Traefik send them), or null if any is missing or not what a proxy would send.
 */
export function originalUrl(headers: Headers): string | null {
  const proto = headers.get("x-forwarded-proto")?.trim().toLowerCase();
  const host = headers.get("x-forwarded-host")?.trim();
  const uri = headers.get("x-forwarded-uri");
  if ((proto !== "http" && proto !== "https") || !host || !forwardedHost.test(host) || !uri || !forwardedUri.test(uri)) return null;
  const url = `${proto}://${host}${uri}`;
  return url.length <= MAX_URL && URL.canParse(url) ? url : null;
}

/** The sign-in page's address, bringing the browser back to `rd` afterwards when there is one. */
export const signInUrl = ({ publicUrl }: Portal, rd: string | null) => `${publicUrl}/signin${rd === null ? "" : `?rd=${encodeURIComponent(rd)}`}`;

/** Whether a request comes from a browser, which can be sent to sign in, rather than a script, which gets a 401. */
export const wantsPage = (request: Request) => request.headers.get("accept")?.includes("text/html") ?? false;

/** A POST that a page of this portal made: anything else may be a cross-site form, refused. */
export const fromPortal = ({ publicUrl }: Portal, request: Request) => request.headers.get("origin") === publicUrl;

const cookieAt = /(?:^|;\s*)keyward_session=([^;]*)/g;

/** More is no browser's doing: a stale copy or two beside the current one, not a list to search. */
const MAX_SESSION_COOKIES = 4;

/**
 * The session cookies a request carries, in its order (empty if none). A browser may hold more than
 * one: a host-only cookie from before KEYWARD_COOKIE_DOMAIN was set beside the domain one, or one
 * a sibling host set with a longer path. The first of them must not hide a live one behind it.
 */
export const sessionCookies = (request: Request): string[] =>
  [...(request.headers.get("cookie") ?? "").matchAll(cookieAt)].slice(0, MAX_SESSION_COOKIES).map((match) => match[1]!);

/**
 * The Set-Cookie for a session value: script cannot read it, other sites' requests do not carry it
 * (but a link followed to a protected page does), sent only over https when the portal is https.
 * An empty value with Max-Age=0 clears it, with the same attributes or the browser keeps it.
 */
export function setCookie({ publicUrl, cookieDomain, maxMs }: Portal, value: string | null): string {
  const attributes = [
    `${SESSION_COOKIE}=${value ?? ""}`,
    `Max-Age=${value === null ? 0 : Math.floor(maxMs / 1000)}`,
    ...(cookieDomain === null ? [] : [`Domain=${cookieDomain}`]),
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    ...(publicUrl.startsWith("https:") ? ["Secure"] : []),
  ];
  return attributes.join("; ");
}

/**
 * The form-action sources of the sign-in page: its own forms, and the hosts a sign-in redirects to
 * (browsers check a form's redirect against form-action too).
 */
export function formTargets({ publicUrl, cookieDomain }: Portal): string {
  const hosts = cookieDomain === null ? [new URL(publicUrl).hostname] : [cookieDomain, `*.${cookieDomain}`];
  return ["'self'", ...hosts.flatMap((host) => [`http://${host}:*`, `https://${host}:*`])].join(" ");
}
