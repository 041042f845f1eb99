import { Elysia } from "elysia";
import { retryAfter } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { errorBody, ErrorBody, withFailures } from "../../http/errors";
import { timingEqualizer } from "../auth/accounts";
import type { AuthCore } from "../auth/service";
import { Page, SignInForm, SignInQuery } from "./model";
import { pagePolicy, signedInPage, signInPage } from "./page";
import { followable, fromPortal, requestedRd, sessionCookies, setCookie, signInUrl, type Portal } from "./service";
import type { Sessions } from "./sessions";

export interface PortalDeps {
  portal: Portal;
  core: AuthCore;
  sessions: Sessions;
  addressOf: AddressOf;
  now: () => number;
}

const CROSS_SITE = errorBody("cross_site_request", "This form may only be sent from Keyward's own sign-in page");
/** The same words whether the name exists or not. */
const WRONG = "The user name or password is not right.";

/**
 * The sign-in portal: a page, its form, and sign-out. A session it opens is a cookie that
 * /auth/forward accepts for every host of the cookie domain.
 */
export const portalRoutes = ({ portal, core, sessions, addressOf, now }: PortalDeps) => {
  void timingEqualizer();
  const policy = pagePolicy(portal);
  const html = (set: { headers: Record<string, unknown> }) =>
    Object.assign(set.headers, { "content-type": "text/html; charset=utf-8", "content-security-policy": policy, "cache-control": "no-store" });
  // POSTs answer a redirect by hand: Elysia's `redirect` would drop the cookie set beside it.
  const seeOther = (set: { headers: Record<string, unknown>; status?: number | string }, location: string, cookie: string) => {
    Object.assign(set.headers, { location, "set-cookie": cookie });
    set.status = 303;
    return "";
  };

  return new Elysia({ name: "keyward/portal", detail: { tags: ["Sign-in portal"] } })
    .get(
      "/signin",
      ({ request, set }) => {
        // The query is validated by its schema, but read raw: nginx's rd comes unencoded.
        const rd = followable(portal, requestedRd(request.url));
        const cookies = sessionCookies(request);
        const decided = cookies.length === 0 ? null : core.session(cookies, () => addressOf(request), "token");
        html(set);
        if (decided?.ok) return signedInPage({ user: decided.principal.user, rd });
        // A cookie of a session that ended is dropped, so the browser stops presenting it.
        if (decided !== null) set.headers["set-cookie"] = setCookie(portal, null);
        return signInPage({ rd, message: null });
      },
      {
        query: SignInQuery,
        response: withFailures({ 200: Page }, "input"),
        detail: { summary: "The sign-in page", description: "For a browser: a user name and password form, or, when already signed in, who it is and a sign-out button.", security: [] },
      },
    )
    .post(
      "/signin",
      async ({ body, request, set, status }) => {
        if (!fromPortal(portal, request)) return status(403, CROSS_SITE);
        const rd = followable(portal, body.rd);
        const ip = addressOf(request);
        // Never undefined: a sign-in is always a password check, lab mode or not.
        const decision = await core.login({ name: body.username, password: body.password ?? "", ip });
        if (!decision.ok) {
          html(set);
          if (decision.reason === "locked_out") {
            Object.assign(set.headers, retryAfter(decision));
            return status(429, signInPage({ rd, message: "Too many failed attempts from here. Wait a minute and try again." }));
          }
          return status(401, signInPage({ rd, message: WRONG }));
        }
        const session = decision.passwordHash === null ? null : sessions.start(decision.user, decision.passwordHash, ip, now());
        if (session === null) {
          html(set);
          return status(401, signInPage({ rd, message: WRONG }));
        }
        return seeOther(set, rd ?? signInUrl(portal, null), setCookie(portal, session.value));
      },
      {
        body: SignInForm,
        response: withFailures({ 303: Page, 401: Page, 403: ErrorBody, 429: Page }, "body"),
        detail: {
          summary: "Sign in",
          description:
            "The sign-in form, from the sign-in page only (its Origin must be KEYWARD_PUBLIC_URL's, else 403). On success a keyward_session cookie (HttpOnly, SameSite=Lax, Path=/, Domain=KEYWARD_COOKIE_DOMAIN, Secure over https) and 303 to `rd` when it is on a host the cookie covers, else to the sign-in page. A wrong name or password shows the page again (401) and counts towards the lockout, as a login does.",
          security: [],
        },
      },
    )
    .post(
      "/signout",
      ({ request, set, status }) => {
        if (!fromPortal(portal, request)) return status(403, CROSS_SITE);
        // Every session this browser presents: a stale copy beside the current one ends too.
        for (const value of sessionCookies(request)) sessions.end(value, now());
        return seeOther(set, signInUrl(portal, null), setCookie(portal, null));
      },
      {
        response: withFailures({ 303: Page, 403: ErrorBody }),
        detail: { summary: "Sign out", description: "Ends the browser's session on the server and clears its cookie; 303 to the sign-in page. From the sign-in page only (Origin checked).", security: [] },
      },
    );
};
