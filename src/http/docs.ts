import { toOpenAPISchema } from "@elysiajs/openapi";
import { OptionalKind } from "@sinclair/typebox";
import { Elysia, type AnyElysia, type TSchema } from "elysia";
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

const documentation = {
  openapi: "3.1.2",
  info: {
    title: "Keyward",
    version: VERSION,
    description:
      "A token authority for small networks. Present a token as `Authorization: Bearer <token>` " +
      "or, where enabled, as the `token` query parameter.",
    license: { name: "MIT", identifier: "MIT" },
  },
  // Relative: the document describes the server that serves it, under whatever name clients use.
  servers: [{ url: "/" }],
  tags: [{ name: "System", description: "Health and documentation" }],
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
    dpop: {
      type: "http",
      scheme: "DPoP",
      description:
        "A key-bound device's main token as `Authorization: DPoP <token>`, with a `DPoP` header: a proof (RFC 9449) signed by the device's key, naming this request's method and URL and the token's SHA-256 (`ath`), at most a minute old, used once",
    },
    consoleCookie: {
      type: "apiKey",
      in: "cookie",
      name: "keyward_console",
      description: "With the sign-in portal on: the browser's session, on Keyward's own host only (set by POST /signin; named __Host-keyward_console when KEYWARD_PUBLIC_URL is https). A request that changes something must come from Keyward's own pages (Origin = KEYWARD_PUBLIC_URL), or the cookie is ignored",
    },
  },
} as const;

type Operation = {
  operationId: string;
  requestBody?: { required: boolean; content: Record<string, { schema: TSchema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
};

/**
 * The OpenAPI document of every route the app serves, as @elysiajs/openapi derives it from their
 * schemas, with three things it gets wrong: a route for every method (`.all`) would give all eight
 * operations its one operationId (`allAuthForward`: each gets its method's), every body would
 * be required, `t.Optional` ones too, and an answer with no body (t.Void, a 204) would get
 * `content: { type: "void" }`, which is no media type.
 */
function openApiDocument(app: AnyElysia) {
  const { openapi, securitySchemes, ...described } = documentation;
  const { paths, components } = toOpenAPISchema(app, undefined, undefined, undefined, openapi);
  for (const item of Object.values(paths) as Record<string, Operation>[]) {
    for (const [method, operation] of Object.entries(item)) {
      operation.operationId = operation.operationId.replace(/^all(?=[A-Z])/, method);
      // The plugin's copies of a body schema keep TypeBox's mark of t.Optional.
      const body = operation.requestBody;
      if (body && Object.values(body.content).some(({ schema }) => schema[OptionalKind] === "Optional")) body.required = false;
      for (const response of Object.values(operation.responses ?? {})) if (typeof response.content?.type === "string") delete response.content;
    }
  }
  return { openapi, ...described, paths, components: { ...components, securitySchemes } };
}

/**
 * The OpenAPI page at /swagger and its document at /swagger/json. Swagger UI's script and styles
 * are embedded in the binary and served from here, so the page works on a LAN with no internet.
 * The page is ours, so it can start Swagger UI from a file rather than an inline script and keep a
 * strict Content-Security-Policy.
 *
 * One per app: the document is derived from the routes of the app the plugin is part of (Elysia
 * points a plugin at the app that last used it), and built once, on the first request, rather than
 * on every one (tens of milliseconds: a client asking in a loop would keep a core busy).
 */
export function docs() {
  const plugin = new Elysia({ name: "keyward/docs" });
  let built: { routes: number; json: string } | undefined;
  // Rebuilt only if routes were added since (all are, before the app serves). Kept as its text:
  // serializing 150 KB of JSON costs about a millisecond, which every request would pay again.
  const document = (): Response => {
    const routes = (plugin as unknown as { getGlobalRoutes(): unknown[] }).getGlobalRoutes().length;
    if (built?.routes !== routes) built = { routes, json: JSON.stringify(openApiDocument(plugin)) };
    return new Response(built.json, { headers: { "content-type": "application/json;charset=utf-8" } });
  };
  return plugin
    .get("/swagger/json", document, { detail: { hide: true } })
    .get("/swagger", staticAsset(page, "text/html; charset=utf-8", policy, "no-cache"), { detail: { hide: true } })
    .get(`${assets}/start.js`, staticAsset(start, "text/javascript; charset=utf-8", policy), { detail: { hide: true } })
    .get(`${assets}/swagger-ui-bundle.js`, staticAsset(() => Bun.file(swaggerBundle), "text/javascript; charset=utf-8", policy), { detail: { hide: true } })
    .get(`${assets}/swagger-ui.css`, staticAsset(() => Bun.file(swaggerCss), "text/css; charset=utf-8", policy), { detail: { hide: true } });
}
