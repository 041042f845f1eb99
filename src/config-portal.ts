import type { Config } from "./config";
import { parseDuration } from "./lib/durations";

/**
 * How browsers reach Keyward, as its origin (`https://auth.home.lan`): the sign-in page's
 * address and the only Origin a sign-in form may come from, so nothing beyond the origin.
 */
export function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error("must be an absolute http:// or https:// URL, like https://auth.home.lan");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("must start with http:// or https://");
  if (url.username || url.password) throw new Error("must not hold a user name or password");
  if (url.pathname !== "/" || url.search || url.hash) throw new Error("must be the origin only, with no path, query or fragment (Keyward serves its pages at the root)");
  return url.origin;
}

const label = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const domainName = new RegExp(`^${label}(\\.${label})*$`);

/** A DNS name (`home.lan`), lower-cased; a leading dot, as older cookie syntax wrote it, is dropped. */
export function parseCookieDomain(raw: string): string {
  const domain = raw.trim().toLowerCase().replace(/^\./, "");
  if (domain.length > 253 || !domainName.test(domain)) throw new Error("must be a domain name, like home.lan");
  // A browser drops, unseen, a cookie whose Domain is a public suffix: every name of one label
  // (`lan`), and those on the Public Suffix List, `home.arpa` (RFC 8375's) among them. Sign-in
  // would then loop between the service and the portal.
  // Loaded only here: the list is large, and parsing it on every start would cost one that sets no
  // cookie domain about 15 ms.
  const { getDomain } = require("tldts") as typeof import("tldts");
  if (getDomain(domain, { allowPrivateDomains: true }) === null) {
    const under = domain.includes(".") ? `lan.${domain}` : `home.${domain}`;
    throw new Error(`is a public suffix, for which browsers refuse cookies: use a name under it for the hosts that share a sign-in, like ${under}`);
  }
  return domain;
}

/** Under a minute, a session would end between two of its last-seen writes (once a minute). */
export function parseSessionDuration(raw: string): number {
  const ms = parseDuration(raw);
  if (ms < 60_000) throw new Error("must be at least a minute");
  return ms;
}

/** Whether `host` is `domain` or one of its subdomains (not merely a name ending in its letters). */
export const withinDomain = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

type PortalSettings = Pick<Config, "publicUrl" | "cookieDomain" | "sessionIdle" | "sessionMax">;

/** What is wrong across the portal's settings, or null. */
export function portalProblem({ publicUrl, cookieDomain, sessionIdle, sessionMax }: PortalSettings): string | null {
  if (cookieDomain !== null) {
    if (publicUrl === null) return "KEYWARD_COOKIE_DOMAIN is set without KEYWARD_PUBLIC_URL: the sign-in portal needs both";
    const host = new URL(publicUrl).hostname;
    // A browser refuses a cookie whose Domain does not cover the host that sets it.
    if (!withinDomain(host, cookieDomain)) return `KEYWARD_COOKIE_DOMAIN=${cookieDomain} does not cover KEYWARD_PUBLIC_URL's host ${host}: browsers would refuse the session cookie`;
  }
  if (sessionIdle > sessionMax) return "KEYWARD_SESSION_IDLE is longer than KEYWARD_SESSION_MAX: a session could never be idle that long";
  return null;
}
