import type { Build } from "bun";
import { rm } from "node:fs/promises";
import { adminBundlePlugin, buildAdminBundle } from "./admin-bundle";

/**
 * Compiles Keyward into one executable: the runtime, the code, the migrations, the docs page
 * assets and the admin page inside. The binary must not read bunfig.toml or .env on its own where
 * it runs: a stray bunfig.toml could preload code into it, and Keyward reads .env itself, below
 * real environment variables.
 */
export async function compile(outfile: string, target?: Build.CompileTarget): Promise<void> {
  const result = await Bun.build({
    entrypoints: ["./src/main.ts"],
    compile: {
      outfile,
      ...(target ? { target } : {}),
      autoloadBunfig: false,
      autoloadDotenv: false,
      autoloadTsconfig: false,
      autoloadPackageJson: false,
      // Code that runs once at start (building the app, the first queries) stays in the
      // interpreter longer: JIT-compiling it cost more than it saved. `serve` sets the normal
      // policy back once it listens (server.ts); a CLI command, which runs once too, keeps it.
      // About 6 ms off the first /health (bench/gap.md); serving speed, paired, is the same.
      jitPolicy: 8,
    },
    loader: { ".sql": "text" },
    plugins: [adminBundlePlugin(await buildAdminBundle())],
    // Not minified: Elysia reads each handler's source to decide what a request needs (its
    // parameter names) and whether to await it (a `return f(` reads as asynchronous). Minified
    // code reads differently from what the tests see (test/http/hot-path.test.ts): renamed
    // parameters, and statements folded into `=>(a(),b(…))` that read as asynchronous.
    minify: false,
    sourcemap: "linked",
    bytecode: true,
    format: "esm",
    // What only some runs need stays out of the start: PostgreSQL's driver and schema, the backup
    // of a PostgreSQL database and Elysia's file-type sniffing (which Keyward never asks for) are
    // chunks inside the binary, evaluated when first imported. Without splitting, Bun evaluates
    // every bundled module at start, dynamically imported or not: a SQLite server answered its
    // first /health about 15 ms later (bench/gap.md).
    splitting: true,
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`compiling ${outfile} failed`);
  }
  // The binary carries its source maps inside (for readable stack traces in the log); the copies
  // Bun also writes beside it, one per chunk, are not needed.
  for (const output of result.outputs) if (output.kind === "sourcemap") await rm(output.path, { force: true });
}
