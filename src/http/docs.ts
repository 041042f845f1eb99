import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { VERSION } from "../version";

const assets = "/swagger/assets";
const cache = { "cache-control": "public, max-age=86400" };

/**
 * The OpenAPI page at /swagger and its spec at /swagger/json. Swagger UI's script and styles are
 * embedded in the binary and served from here, so the page works on a LAN with no internet.
 */
export const docs = new Elysia({ name: "keyward/docs" })
  .use(
    openapi({
      path: "/swagger",
      specPath: "/swagger/json",
      provider: "swagger-ui",
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
      swagger: {
        cdn: `${assets}/swagger-ui-bundle.js`,
        theme: `${assets}/swagger-ui.css`,
        // Swagger UI otherwise sends the spec to validator.swagger.io to draw a badge.
        validatorUrl: "none",
        persistAuthorization: false,
      },
    }),
  )
  .get(`${assets}/swagger-ui-bundle.js`, ({ set }) => {
    Object.assign(set.headers, cache);
    return Bun.file(swaggerBundle);
  }, { detail: { hide: true } })
  .get(`${assets}/swagger-ui.css`, ({ set }) => {
    Object.assign(set.headers, cache);
    return Bun.file(swaggerCss);
  }, { detail: { hide: true } });
