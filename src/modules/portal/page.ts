import { FAVICON_LINK } from "../home/favicon";
import { formTargets, type Portal } from "./service";

/** Sized for a phone (390 px) first; no external font, image or script. */
const style = `body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:1rem;background:#f4f6f8;color:#1a202c}
main{max-width:22rem;margin:3rem auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid #a0aec0;border-radius:4px}
button{margin-top:1.25rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:4px;background:#2b6cb0;color:#fff;cursor:pointer}
p.message{background:#fed7d7;color:#742a2a;padding:.5rem .75rem;border-radius:4px}
p.notice{background:#c6f6d5;color:#22543d;padding:.5rem .75rem;border-radius:4px}h2{font-size:1.1rem;margin:2rem 0 0}
p.hint{color:#4a5568;font-size:.9rem}a{color:#2b6cb0}`;

/** The one inline style, allowed by its hash: nothing injected into the page could run or restyle it. */
const styleHash = `'sha256-${new Bun.CryptoHasher("sha256").update(style).digest("base64")}'`;

/** No script at all; forms post only to this server and to the hosts a sign-in redirects to. */
export const pagePolicy = (portal: Portal) =>
  `default-src 'none'; style-src ${styleHash}; img-src 'self'; form-action ${formTargets(portal)}; base-uri 'none'; frame-ancestors 'none'`;

export const LOCKED_MESSAGE = "Too many failed attempts from here. Wait a minute and try again.";

const escapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => escapes[c]!);

/**
 * The page's referrer policy is same-origin, not the no-referrer every answer is sent with: under
 * no-referrer a browser sends `Origin: null` with a form's POST, which the Origin check refuses,
 * so nobody could sign in or out. Nothing leaves for another origin (the target gets no Referer).
 */
const shell = (body: string) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="referrer" content="same-origin"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Keyward</title>${FAVICON_LINK}<style>${style}</style></head>
<body><main>
${body}
</main></body>
</html>
`;

/** The sign-in form; `rd` rides along as a hidden field, `message` says why the last try failed. */
export function signInPage({ rd, message }: { rd: string | null; message: string | null }): string {
  return shell(`<h1>Sign in</h1>
${message === null ? "" : `<p class="message" role="alert">${escape(message)}</p>\n`}<form method="post" action="/signin">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
${rd === null ? "" : `<input type="hidden" name="rd" value="${escape(rd)}">\n`}<button type="submit">Sign in</button>
</form>`);
}

export interface SignedIn {
  user: string;
  /** Whether to offer the admin page. */
  admin: boolean;
  rd: string | null;
  /** Why the last password change failed, or what just happened. */
  message?: string | null;
  notice?: string | null;
}

/** What a signed-in browser sees at /signin: who it is, where it was going, its password, and a way out. */
export function signedInPage({ user, admin, rd, message = null, notice = null }: SignedIn): string {
  return shell(`<h1>Signed in</h1>
${notice === null ? "" : `<p class="notice" role="status">${escape(notice)}</p>
`}<p>You are signed in as <strong>${escape(user)}</strong>.</p>
${rd === null ? "" : `<p><a href="${escape(rd)}">Continue to ${escape(rd)}</a></p>
`}${admin ? `<p><a href="/admin">Admin page</a></p>
` : ""}<form method="post" action="/signout"><button type="submit">Sign out</button></form>
<h2>Change your password</h2>
${message === null ? "" : `<p class="message" role="alert">${escape(message)}</p>
`}<form method="post" action="/account/password">
<input type="hidden" name="username" value="${escape(user)}" autocomplete="username">
<label for="current_password">Current password</label><input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
<label for="new_password">New password (8 characters or more)</label><input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required>
<label for="confirm_password">New password again</label><input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" minlength="8" required>
<button type="submit">Change password</button>
</form>
<p class="hint">Changing it signs you out everywhere else and ends your login tokens.</p>`);
}
