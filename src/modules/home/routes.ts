import { Elysia, t } from "elysia";
import { withFailures } from "../../http/errors";
import { staticAsset } from "../../http/static-asset";
import { VERSION } from "../../version";
import { FAVICON_LINK, FAVICON_SVG } from "./favicon";

const sentence = "Authentication server running";

/** A page without script or style, so it needs no Content-Security-Policy exceptions. */
const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Keyward</title>${FAVICON_LINK}</head>
<body>
<h1>Keyward</h1>
<p>${sentence}. Version ${VERSION}.</p>
<ul>
<li><a href="/admin">Admin page</a></li>
<li><a href="/swagger">API documentation</a></li>
<li><a href="/health">Health</a></li>
</ul>
</body>
</html>
`;

/** The classroom lab's first check: GET / says the server is running. Browsers get a small page of links. */
export const homeRoutes = new Elysia({ name: "keyward/home", detail: { tags: ["System"] } }).get(
  "/",
  ({ request, set }) => {
    const wantsHtml = request.headers.get("accept")?.includes("text/html") ?? false;
    set.headers["content-type"] = wantsHtml ? "text/html; charset=utf-8" : "text/plain; charset=utf-8";
    return wantsHtml ? page : sentence;
  },
  {
    response: withFailures({ 200: t.String({ examples: [sentence] }) }),
    detail: { summary: "Is the server running?", description: "Plain text, or a page of links for a browser.", security: [] },
  },
)
  // As an image an SVG runs nothing; the policy keeps it inert when opened as a page, too.
  .get("/favicon.ico", staticAsset(FAVICON_SVG, "image/svg+xml", "default-src 'none'"), { detail: { hide: true } });
