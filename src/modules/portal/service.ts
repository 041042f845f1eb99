import { withinDomain } from "../../config-portal";
import { looksLikeSessionValue, type SessionCookie } from "./sessions";

/** The portal's settings, when KEYWARD_PUBLIC_URL turns it on. */
export interface Portal {
  /** The public URL's origin: `https://auth.home.lan`. */
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
 * look-alike such as `home.lan.evil.example` and credentials in the URL are all refused.
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
  // An https portal's cookies are Secure: an http page never receives them, and sending the browser
  // there would only bring it back to sign in, round and round.
  if (url.protocol === "http:" && portal.publicUrl.startsWith("https:")) return null;
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

const READS = new Set(["GET", "HEAD"]);

const DOMAIN_COOKIE = "keyward_session";

/**
 * The console cookie's name. Over https it has the `__Host-` prefix, which a browser accepts only
 * from this host itself, Secure, with no Domain and Path=/: no other host of the domain can plant
 * one. Over plain http a sibling host can, which is why a browser presenting two is believed in
 * neither (see consoleCookie).
 */
export const consoleCookieName = ({ publicUrl }: Portal) => (publicUrl.startsWith("https:") ? "__Host-keyward_console" : "keyward_console");

/** More is no browser's doing: a stale copy or two beside the current one, not a list to search. */
const MAX_SESSION_COOKIES = 4;

const cookiePatterns = new Map(
  [DOMAIN_COOKIE, "__Host-keyward_console", "keyward_console"].map((name) => [name, new RegExp(`(?:^|;\\s*)${name}=([^;]*)`, "g")]),
);

function cookieValues(request: Request, name: string): string[] {
  const header = request.headers.get("cookie");
  if (header === null) return [];
  const values = [...header.matchAll(cookiePatterns.get(name)!)].map((match) => match[1]!);
  // Well-formed values first, so junk set ahead of the real one cannot push it past the cap.
  const wellFormed = values.filter(looksLikeSessionValue);
  return (wellFormed.length > 0 ? wellFormed : values).slice(0, MAX_SESSION_COOKIES);
}

/**
 * The domain session cookies a request carries, in its order (empty if none). A browser may hold
 * more than one: a host-only cookie from before KEYWARD_COOKIE_DOMAIN was set beside the domain
 * one, or one a sibling host set with a longer path. The first of them must not hide a live one
 * behind it.
 */
export const domainCookies = (request: Request): string[] => cookieValues(request, DOMAIN_COOKIE);

/**
 * The console cookie a request carries: none, or one. A browser holds one at most (host-only,
 * Path=/); a second was set by another host of the domain to pass its own session off as this
 * browser's, so then neither is believed.
 */
export function consoleCookie(portal: Portal, request: Request): string[] {
  const values = cookieValues(request, consoleCookieName(portal));
  return values.length === 1 ? values : [];
}

/**
 * The console cookie a request to the API may use: a read's, and a change's only when one of
 * Keyward's own pages sent it (Origin). Strict keeps other sites' requests from carrying the
 * cookie, but not a sibling host's, which is the same site: its cookie is ignored, as if not sent.
 */
export const apiConsoleCookie = (portal: Portal, request: Request): string[] =>
  READS.has(request.method) || fromPortal(portal, request) ? consoleCookie(portal, request) : [];

/**
 * The Set-Cookie headers for a session's values, or clearing both (null). Script cannot read
 * either, and other sites' requests do not carry them; both go only over https when the portal is
 * https. `keyward_session` is for every host of the cookie domain, and a link followed from
 * elsewhere to a protected page carries it (Lax). The console cookie is host-only and Strict: it
 * reaches Keyward's own pages, from its own pages, and nothing else. A cookie is cleared by an
 * empty value with Max-Age=0 and the same attributes, or the browser keeps it.
 */
export function setCookies(portal: Portal, values: Record<SessionCookie, string> | null): string[] {
  const { publicUrl, cookieDomain, maxMs } = portal;
  const cookie = (name: string, value: string | undefined, domain: string | null, sameSite: string) =>
    [
      `${name}=${value ?? ""}`,
      `Max-Age=${values === null ? 0 : Math.floor(maxMs / 1000)}`,
      ...(domain === null ? [] : [`Domain=${domain}`]),
      "Path=/",
      "HttpOnly",
      `SameSite=${sameSite}`,
      ...(publicUrl.startsWith("https:") ? ["Secure"] : []),
    ].join("; ");
  return [cookie(DOMAIN_COOKIE, values?.domain, cookieDomain, "Lax"), cookie(consoleCookieName(portal), values?.console, null, "Strict")];
}

/**
 * The form-action sources of the sign-in page: its own forms, and the hosts a sign-in redirects to
 * (browsers check a form's redirect against form-action too).
 */
export function formTargets({ publicUrl, cookieDomain }: Portal): string {
  const hosts = cookieDomain === null ? [new URL(publicUrl).hostname] : [cookieDomain, `*.${cookieDomain}`];
  return ["'self'", ...hosts.flatMap((host) => [`http://${host}:*`, `https://${host}:*`])].join(" ");
}
