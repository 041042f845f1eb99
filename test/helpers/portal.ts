import { expect } from "bun:test";
import { tablesOf } from "../../src/db/client";
import { ADMIN_TOKEN, addAccount, formPost } from "./api";
import { inProcessApp } from "./app";

export const PUBLIC = "https://auth.home.lan";
export const FROM_PORTAL = { origin: PUBLIC };
export const PASSWORD = "correct horse battery";
export const NEW_PASSWORD = "battery staple horse";
/** A person's change of their own password, as the signed-in page's form posts it. */
export const PASSWORD_CHANGE = { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD };

/** The in-process app with the portal on (https, cookie domain home.lan) and alice's account. */
export async function portalApp(env: Record<string, string> = {}, options: { db?: string } = {}) {
  const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "home.lan", ...env }, {}, options);
  await addAccount(app, "alice", PASSWORD);
  const signIn = (fields: Record<string, string>, headers: Record<string, string> = FROM_PORTAL) => app.fetch("/signin", formPost(fields, headers));
  /** Signs alice in; both cookies' values. */
  const signedIn = async () => {
    const res = await signIn({ username: "alice", password: PASSWORD });
    expect(res.status).toBe(303);
    return { domain: valueOf(res)!, console: valueOf(res, "__Host-keyward_console")! };
  };
  /** Signs alice in; the value of the cookie forward auth reads. */
  const session = async () => (await signedIn()).domain;
  const forward = (value: string, headers: Record<string, string> = {}) => app.fetch("/auth/forward", { headers: { cookie: `theme=dark; keyward_session=${value}`, ...headers } });
  const signOut = (value: string, headers: Record<string, string> = FROM_PORTAL) => app.fetch("/signout", { method: "POST", headers: { cookie: `keyward_session=${value}`, ...headers } });
  /** The sessions table as stored, on either engine. */
  const rows = async () => await app.store.db.select().from(tablesOf(app.store.db).sessions);
  return { ...app, signIn, signedIn, session, forward, signOut, rows };
}

/** The value a response sets for a cookie (keyward_session unless named), or null. */
export const valueOf = (res: Response, name = "keyward_session") =>
  res.headers
    .getSetCookie()
    .map((cookie) => new RegExp(`^${name}=([A-Za-z0-9_-]{43});`).exec(cookie)?.[1])
    .find(Boolean) ?? null;
export const browser = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
export const proxied = { ...browser, "x-forwarded-proto": "https", "x-forwarded-host": "wiki.home.lan", "x-forwarded-uri": "/page?id=7" };

/** The portal on, alice (a user) and root (an admin) with passwords; signing either in, and a password change by a console cookie. */
export async function accountsApp(env: Record<string, string> = {}) {
  const app = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: PUBLIC, KEYWARD_COOKIE_DOMAIN: "home.lan", ...env });
  await addAccount(app, "alice", PASSWORD);
  await addAccount(app, "root", PASSWORD, "admin");
  /** Both cookies' values. */
  const signIn = async (username = "alice", password = PASSWORD) => {
    const res = await app.fetch("/signin", formPost({ username, password }, FROM_PORTAL));
    expect(res.status).toBe(303);
    return { domain: valueOf(res)!, console: valueOf(res, "__Host-keyward_console")! };
  };
  const changePassword = (console: string, fields: Record<string, string> = PASSWORD_CHANGE, headers: Record<string, string> = FROM_PORTAL) =>
    app.fetch("/account/password", formPost(fields, { cookie: `__Host-keyward_console=${console}`, ...headers }));
  return { ...app, signIn, changePassword };
}
