import type { BunPlugin } from "bun";
import { join } from "node:path";

const client = join(import.meta.dir, "../src/modules/admin-ui/client");

export interface AdminBundle {
  script: string;
  style: string;
}

/** Bundles the admin page's TypeScript for browsers, and reads its stylesheet. */
export async function buildAdminBundle(): Promise<AdminBundle> {
  const result = await Bun.build({ entrypoints: [join(client, "main.ts")], target: "browser", minify: true });
  if (!result.success) throw new AggregateError(result.logs, "the admin page did not build");
  return { script: await result.outputs[0]!.text(), style: await Bun.file(join(client, "admin.css")).text() };
}

/**
 * Provides the module `keyward:admin-bundle` with the page's script and stylesheet as strings.
 * The build script gives it to the compiler, so the binary embeds them; bunfig.toml preloads it
 * for tests and `bun src/main.ts`. (The bundle is made before, not inside, the main build:
 * Bun.build does not nest.)
 */
export function adminBundlePlugin({ script, style }: AdminBundle): BunPlugin {
  return {
    name: "keyward-admin-bundle",
    setup(build) {
      build.onResolve({ filter: /^keyward:admin-bundle$/ }, () => ({ path: "admin-bundle", namespace: "keyward" }));
      build.onLoad({ filter: /^admin-bundle$/, namespace: "keyward" }, () => ({
        contents: `export const script = ${JSON.stringify(script)};\nexport const style = ${JSON.stringify(style)};\n`,
        loader: "js",
      }));
    },
  };
}
