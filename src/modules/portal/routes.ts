import { Elysia } from "elysia";
import type { Store } from "../../db/client";
import { retryAfter } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { errorBody, ErrorBody, withFailures } from "../../http/errors";
import { ADMIN_ROLE } from "../../lib/names";
import { timingEqualizer } from "../auth/accounts";
import type { AuthCore } from "../auth/service";
import { Page, PasswordForm, SignInForm, SignInQuery } from "./model";
import { LOCKED_MESSAGE, pagePolicy, signedInPage, signInPage } from "./page";
import { changeOwnPassword } from "./password";
import { consoleCookie, domainCookies, followable, fromPortal, requestedRd, setCookies, signInUrl, type Portal } from "./service";
import type { Sessions } from "./sessions";

export interface PortalDeps {
  store: Store;
  portal: Portal;
  core: AuthCore;
  sessions: Sessions;
  addressOf: AddressOf;
  now: () => number;
}

const CROSS_SITE = errorBody("cross_site_request", "This form may only be sent from Keyward's own sign-in page");
/** The same words whether the name exists or not. */
const WRONG = "The user name or password is not right.";
/** A Map, not an object: `?notice=constructor` must find nothing rather than what every object has. */
const NOTICES = new Map([["password", "Your password was changed. Other browsers and login tokens were signed out."]]);

/**
 * The sign-in portal: its page, sign-in, sign-out and a person's own password change. A session it
 * opens has two cookies: one /auth/forward accepts for every host of the cookie domain, and one
 * for Keyward's own pages and API (see service.ts).
 */
export const portalRoutes = ({ store, portal, core, sessions, addressOf, now }: PortalDeps) => {
  void timingEqualizer();
  const policy = pagePolicy(portal);
  const html = (set: { headers: Record<string, unknown> }) =>
    Object.assign(set.headers, { "content-type": "text/html; charset=utf-8", "content-security-policy": policy, "cache-control": "no-store" });
  // POSTs answer a redirect by hand: Elysia's `redirect` would drop the cookie set beside it.
  const seeOther = (set: { headers: Record<string, unknown>; status?: number | string }, location: string, cookies?: string[]) => {
    Object.assign(set.headers, { location, ...(cookies && { "set-cookie": cookies }) });
    set.status = 303;
    return "";
  };
  // Keyward's own pages know the browser by the cookie only its own host receives.
  const signedIn = async (request: Request) => {
    const cookies = consoleCookie(portal, request);
    return cookies.length === 0 ? null : core.session(cookies, () => addressOf(request), "token", "console");
  };
  // Both of a session's cookies, or the signed-in page would offer "Continue" to a service that refuses it.
  const hasDomainCookie = async (request: Request, tokenId: string) => {
    const found = await Promise.all(domainCookies(request).map((value) => sessions.find(value, now())));
    return found.some((session) => session?.id === tokenId);
  };

  return new Elysia({ name: "keyward/portal", detail: { tags: ["Sign-in portal"] } })
    .get(
      "/signin",
      async ({ query, request, set }) => {
        // The query is validated by its schema, but rd is read raw: nginx's comes unencoded.
        const rd = followable(portal, requestedRd(request.url));
        const decided = await signedIn(request);
        html(set);
        // Without its domain cookie (dropped, or refused by the browser) the session opens no
        // service: "Continue" would only come back here. A new sign-in sets both again.
        if (decided?.ok && (await hasDomainCookie(request, decided.principal.tokenId))) {
          const { user, role } = decided.principal;
          return signedInPage({ user, admin: role === ADMIN_ROLE, rd, notice: NOTICES.get(query.notice ?? "") ?? null });
        }
        // Cookies of a session that ended, or a console cookie without its domain one, are dropped: the
        // browser stops presenting them, and the sign-in to come sets both afresh.
        if (decided !== null) set.headers["set-cookie"] = setCookies(portal, null);
        return signInPage({ rd, message: null });
      },
      {
        query: SignInQuery,
        response: withFailures({ 200: Page }, "input"),
        detail: { summary: "The sign-in page", description: "For a browser: a user name and password form, or, when signed in (both of the session's cookies), who it is, a sign-out button, a link to the admin page for an admin, and the form to change one's password.", security: [] },
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
            return status(429, signInPage({ rd, message: LOCKED_MESSAGE }));
          }
          return status(401, signInPage({ rd, message: WRONG }));
        }
        const session = decision.passwordHash === null ? null : await sessions.start(decision.user, decision.passwordHash, ip, now());
        if (session === null) {
          html(set);
          return status(401, signInPage({ rd, message: WRONG }));
        }
        return seeOther(set, rd ?? signInUrl(portal, null), setCookies(portal, session.values));
      },
      {
        body: SignInForm,
        response: withFailures({ 303: Page, 401: Page, 403: ErrorBody, 429: Page }, "body"),
        detail: {
          summary: "Sign in",
          description:
            "The sign-in form, from the sign-in page only (its Origin must be KEYWARD_PUBLIC_URL's, else 403). On success a keyward_session cookie (HttpOnly, SameSite=Lax, Path=/, Domain=KEYWARD_COOKIE_DOMAIN, Secure over https) for forward auth, a host-only keyward_console cookie (HttpOnly, SameSite=Strict; __Host-keyward_console over https) for Keyward's own pages and API, and 303 to `rd` when it is on a host the cookie covers, else to the sign-in page. A wrong name or password shows the page again (401) and counts towards the lockout, as a login does.",
          security: [],
        },
      },
    )
    .post(
      "/signout",
      async ({ request, set, status }) => {
        if (!fromPortal(portal, request)) return status(403, CROSS_SITE);
        // Every session this browser presents, by either cookie: a stale copy beside the current one ends too.
        await sessions.signOut({ domain: domainCookies(request), console: consoleCookie(portal, request) }, now());
        return seeOther(set, signInUrl(portal, null), setCookies(portal, null));
      },
      {
        response: withFailures({ 303: Page, 403: ErrorBody }),
        detail: { summary: "Sign out", description: "Ends the browser's session on the server and clears its cookies; 303 to the sign-in page. From Keyward's own pages only (Origin checked).", security: [] },
      },
    )
    .post(
      "/account/password",
      async ({ body, request, set, status }) => {
        if (!fromPortal(portal, request)) return status(403, CROSS_SITE);
        const decided = await signedIn(request);
        if (!decided?.ok) return seeOther(set, signInUrl(portal, null), decided === null ? undefined : setCookies(portal, null));
        const { user, role, tokenId } = decided.principal;
        const ip = addressOf(request);
        const changed = await changeOwnPassword({ store, core, now }, { user, sessionId: tokenId, ip }, body);
        if (changed.ok) return seeOther(set, `${portal.publicUrl}/signin?notice=password`, setCookies(portal, changed.values));
        html(set);
        if (changed.retryAfter) Object.assign(set.headers, retryAfter(changed.retryAfter));
        return status(changed.status, signedInPage({ user, admin: role === ADMIN_ROLE, rd: null, message: changed.message }));
      },
      {
        body: PasswordForm,
        response: withFailures({ 303: Page, 400: Page, 401: Page, 403: ErrorBody, 409: Page, 429: Page }, "body"),
        detail: {
          summary: "Change your own password",
          description:
            "The signed-in page's form, from Keyward's own pages only (Origin must be KEYWARD_PUBLIC_URL's, else 403), for the browser's session (its keyward_console cookie; with none, 303 to the sign-in page). The current password is checked as a sign-in is (a wrong one counts towards the lockout: 401, or 429 when locked out); the new one must be 8 to 1024 characters and typed twice alike (else 400). On success every session and login token of the account ends, this browser gets a new session (new cookies), and 303 to the signed-in page. 409 if, during the check, the password was changed by someone else, the account disabled, or this session ended (signed out, ended by an admin, a new role): nothing is changed then.",
          security: [{ consoleCookie: [] }],
        },
      },
    );
};
