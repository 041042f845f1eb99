/// <reference lib="dom" />
import { api, ApiError, session } from "./api";
import { auditView } from "./audit";
import { devicesView } from "./devices";
import { fields, h, replace } from "./dom";
import { overviewView } from "./overview";
import { sessionsView } from "./sessions";
import { tokensView } from "./tokens";
import { usersView } from "./users";

export interface View {
  title: string;
  render(root: HTMLElement, notify: (message: string) => void): Promise<void>;
}

const views = [overviewView, tokensView, usersView, sessionsView, devicesView, auditView];
/** With the sign-in portal on, its sign-in page, bringing the browser back here (the server puts it in the page). */
const portalSignIn = document.body.dataset.signin ?? null;
/** Signed in at the portal: no token here, the browser's console cookie goes with every request instead. */
let byPortal = false;
const app = document.getElementById("app")!;
const notice = h("p", { class: "notice", role: "status" });
const notify = (message: string) => {
  notice.textContent = message;
};

/** Admin only: a token (or name and password, through /login) whose role is admin. */
async function signIn(token: string): Promise<void> {
  const me = await api<{ user: string; role: string }>("GET", "/api/v1/me", undefined, token);
  if (me.role !== "admin") throw new Error(`${me.user} is not an admin`);
  session.set(token);
}

function signInPage(): void {
  const byToken = h(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await signIn(fields(e.target as HTMLFormElement).token ?? "");
          void dashboard();
        } catch (error) {
          notify(error instanceof ApiError && error.status === 401 ? "That token does not work." : (error as Error).message);
        }
      },
    },
    h("label", {}, "Admin token", h("input", { name: "token", type: "password", autocomplete: "off", required: true })),
    h("button", { type: "submit" }, "Sign in"),
  );
  const byPassword = h(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const { username, password } = fields(e.target as HTMLFormElement);
          const login = await api<{ token: string }>("POST", "/login", { username, password }, null);
          await signIn(login.token);
          void dashboard();
        } catch (error) {
          notify((error as Error).message);
        }
      },
    },
    h("label", {}, "User name", h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, "Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Sign in with password"),
  );
  const portal = portalSignIn && [h("p", {}, h("a", { href: portalSignIn, class: "portal" }, "Sign in with your Keyward account")), h("p", {}, "or")];
  replace(app, h("h1", {}, "Keyward admin"), notice, h("section", { class: "signin" }, ...(portal || []), byToken, h("p", {}, "or"), byPassword));
}

async function signOut(): Promise<void> {
  session.clear();
  // A fetch, not a form: under the page's no-referrer policy a form's POST says `Origin: null`, which /signout refuses.
  // Its answer is a redirect, which a manual fetch sees as an opaque one.
  const ended = !byPortal || (await fetch("/signout", { method: "POST", redirect: "manual" }).then((res) => res.type === "opaqueredirect", () => false));
  byPortal = false;
  signInPage();
  if (!ended) notify("Signing out at the portal failed: reload the page and try again.");
}

/** Opens the dashboard if the browser is signed in at the portal as an admin; else the sign-in page. */
async function start(): Promise<void> {
  const me = "session" in document.body.dataset ? await api<{ user: string; role: string }>("GET", "/api/v1/me", undefined, null).catch(() => null) : null;
  byPortal = me?.role === "admin";
  if (byPortal) return dashboard();
  signInPage();
  if (me) notify(`${me.user} is signed in, but is not an admin.`);
}

async function dashboard(view: View = overviewView): Promise<void> {
  const main = h("main");
  const nav = h(
    "nav",
    {},
    ...views.map((v) => h("button", { type: "button", class: v === view ? "current" : "", onclick: () => void dashboard(v) }, v.title)),
    h("button", { type: "button", class: "signout", onclick: () => void signOut() }, "Sign out"),
  );
  notify("");
  replace(app, h("h1", {}, "Keyward admin"), nav, notice, main);
  try {
    await view.render(main, notify);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.clear();
      byPortal = false;
      signInPage();
      notify("Your session ended; sign in again.");
    } else notify((error as Error).message);
  }
}

if (session.get()) void dashboard();
else void start();
