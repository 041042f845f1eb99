import { Elysia } from "elysia";
import { script, style } from "keyward:admin-bundle";

/**
 * No inline script or style anywhere, so the policy can forbid both: an injected `<script>` or
 * event attribute cannot run, and the page can talk to nothing but this server.
 */
const policy =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const shell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keyward admin</title>
<link rel="stylesheet" href="/admin/admin.css">
<script type="module" src="/admin/admin.js"></script>
</head>
<body><div id="app"><noscript>The admin page needs JavaScript.</noscript></div></body>
</html>
`;

const asset = (body: string, type: string) => () =>
  new Response(body, { headers: { "content-type": type, "content-security-policy": policy, "cache-control": "no-cache" } });

/** The admin page: one HTML shell, its script and stylesheet, all embedded in the binary. */
export const adminRoutes = new Elysia({ name: "keyward/admin-ui" })
  .get("/admin", asset(shell, "text/html; charset=utf-8"), { detail: { hide: true } })
  .get("/admin/admin.js", asset(script, "text/javascript; charset=utf-8"), { detail: { hide: true } })
  .get("/admin/admin.css", asset(style, "text/css; charset=utf-8"), { detail: { hide: true } });
