import { plugin } from "bun";

/**
 * openapi-typescript 7 builds its output with the TypeScript compiler API, which TypeScript 7 (our
 * `typescript`) no longer has; TypeScript 5.9 is installed as `typescript5` for it. Its own modules
 * are loaded with their `typescript` imports pointed there: everything else keeps TypeScript 7.
 * (Bun calls a runtime plugin's onResolve for no bare import found in node_modules, so the
 * redirect is made when those modules load.)
 */
plugin({
  name: "typescript 5 for openapi-typescript",
  setup(build) {
    build.onLoad({ filter: /\/node_modules\/openapi-typescript\/dist\/.+\.mjs$/ }, async ({ path }) => ({
      contents: (await Bun.file(path).text()).replaceAll(/from ["']typescript["']/g, 'from "typescript5"'),
      loader: "js",
    }));
  },
});

const { default: openapiTS, astToString } = await import("openapi-typescript");

/** TypeScript declarations (`paths`, `components`, `operations`) for an OpenAPI document. */
export async function typesFor(document: object): Promise<string> {
  return astToString(await openapiTS(document as Parameters<typeof openapiTS>[0]));
}
