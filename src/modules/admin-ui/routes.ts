import { Elysia } from "elysia";
import { script, style } from "keyward:admin-bundle";
import { staticAsset } from "../../http/static-asset";
import { FAVICON_LINK } from "../home/favicon";
import type { AddressOf } from "../../http/client-address";
import type { AuthCore } from "../auth/service";
import { consoleCookie, signInUrl, type Portal } from "../portal/service";

/**
 * No inline script or style anywhere, so the policy can forbid both: an injected `<script>` or
 * event attribute cannot run, and the page can talk to nothing but this server.
 */
const policy =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * With the portal on, the page offers its sign-in, which brings the browser back to the page, and
 * says whether this browser is signed in there (so the script asks who only then, rather than
 * meeting a 401 on every visit).
 */
const shell = (portal: Portal | null, signedIn = false) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keyward admin</title>
${FAVICON_LINK}
<link rel="stylesheet" href="/admin/admin.css">
<script type="module" src="/admin/admin.js"></script>
</head>
<body${portal === null ? "" : ` data-signin="${signInUrl(portal, `${portal.publicUrl}/admin`)}"${signedIn ? " data-session" : ""}`}><div id="app"><noscript>The admin page needs JavaScript.</noscript></div></body>
</html>
`;

export interface AdminPageDeps {
  portal: Portal | null;
  core: AuthCore;
  addressOf: AddressOf;
}

/** The admin page: one HTML shell, its script and stylesheet, all embedded in the binary. */
export const adminRoutes = ({ portal, core, addressOf }: AdminPageDeps) => {
  const page = (signedIn: boolean) => staticAsset(shell(portal, signedIn), "text/html; charset=utf-8", policy, "no-cache");
  const [signedOut, signedIn] = [page(false), page(true)];
  const hasSession = async (request: Request) => {
    const cookies = portal === null ? [] : consoleCookie(portal, request);
    return cookies.length > 0 && (await core.session(cookies, () => addressOf(request), "token", "console")).ok;
  };
  return new Elysia({ name: "keyward/admin-ui" })
    .get("/admin", async ({ request }) => ((await hasSession(request)) ? signedIn() : signedOut()), { detail: { hide: true } })
    .get("/admin/admin.js", staticAsset(script, "text/javascript; charset=utf-8", policy, "no-cache"), { detail: { hide: true } })
    .get("/admin/admin.css", staticAsset(style, "text/css; charset=utf-8", policy, "no-cache"), { detail: { hide: true } });
};
