import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { VERSION } from "../version";
import { staticAsset } from "./static-asset";

const assets = "/swagger/assets";

/** Everything the page loads comes from this server; no inline script, so none can be injected. */
const policy =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keyward API</title>
<link rel="stylesheet" href="${assets}/swagger-ui.css">
<script src="${assets}/swagger-ui-bundle.js" defer></script>
<script src="${assets}/start.js" defer></script>
</head>
<body><div id="swagger-ui"></div></body>
</html>
`;

// Swagger UI otherwise sends the spec to validator.swagger.io to draw a badge.
const start = `window.ui = SwaggerUIBundle({ url: "/swagger/json", dom_id: "#swagger-ui", validatorUrl: "none", persistAuthorization: false });\n`;

/**
 * The OpenAPI page at /swagger and its spec at /swagger/json. Swagger UI's script and styles are
 * embedded in the binary and served from here, so the page works on a LAN with no internet. The
 * plugin only builds the spec; the page is ours, so it can start Swagger UI from a file rather
 * than an inline script and keep a strict Content-Security-Policy.
 */
export const docs = new Elysia({ name: "keyward/docs" })
  .use(
    openapi({
      path: "/swagger",
      specPath: "/swagger/json",
      provider: null,
      documentation: {
        info: {
          title: "Keyward",
          version: VERSION,
          description:
            "A token authority for small networks. Present a token as `Authorization: Bearer <token>` " +
            "or, where enabled, as the `token` query parameter.",
        },
        tags: [{ name: "System", description: "Health and documentation" }],
        components: {
          securitySchemes: {
            bearer: { type: "http", scheme: "bearer", description: "An API, login or device token" },
            clientSecretBasic: { type: "http", scheme: "basic", description: "OAuth client_secret_basic, for POST /oauth/introspect: a token's id and the token" },
            queryToken: { type: "apiKey", in: "query", name: "token", description: "The same token as a query parameter" },
            hardwareFingerprint: {
              type: "apiKey",
              in: "header",
              name: "X-Hardware-Fingerprint",
              description: "With a device's main token as the Bearer token: the fingerprint bound in it",
            },
          },
        },
      },
    }),
  )
  .get("/swagger", staticAsset(page, "text/html; charset=utf-8", policy, "no-cache"), { detail: { hide: true } })
  .get(`${assets}/start.js`, staticAsset(start, "text/javascript; charset=utf-8", policy), { detail: { hide: true } })
  .get(`${assets}/swagger-ui-bundle.js`, staticAsset(() => Bun.file(swaggerBundle), "text/javascript; charset=utf-8", policy), { detail: { hide: true } })
  .get(`${assets}/swagger-ui.css`, staticAsset(() => Bun.file(swaggerCss), "text/css; charset=utf-8", policy), { detail: { hide: true } });
