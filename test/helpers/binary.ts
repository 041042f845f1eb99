import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
export const binaryPath = join(root, "dist/keyward");

let built: Promise<void> | undefined;

/**
 * Builds dist/keyward once per test run, so the e2e tests always drive the current code. npm test
 * builds it before `bun test --parallel` and says so with KEYWARD_TEST_BUILT=1: workers building
 * the same file at once would overwrite a binary another worker is running.
 */
export function buildOnce(): Promise<void> {
  if (process.env.KEYWARD_TEST_BUILT === "1") return Promise.resolve();
  built ??= (async () => {
    const build = Bun.spawn([process.execPath, "scripts/build.ts"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    if ((await build.exited) !== 0) {
      throw new Error(`build failed:\n${await new Response(build.stderr).text()}`);
    }
  })();
  return built;
}

const made: string[] = [];

/**
 * A suite run makes hundreds of these (databases, backups, certificates): removed after the run by
 * test/helpers/temp-dirs.ts, a preload. (A process "exit" listener does not run in bun test's
 * workers: every run used to leave its directories behind.)
 */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function tempDir(prefix = "keyward-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A clean environment: nothing from the developer's shell (KEYWARD_*, PORT…) leaks into a test. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...extra };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the binary to completion (a CLI command), in `cwd`, with only the given environment. */
export async function runKeyward(
  args: string[],
  { cwd = tempDir(), env = {}, binary = binaryPath }: { cwd?: string; env?: Record<string, string>; binary?: string } = {},
): Promise<RunResult> {
  await buildOnce();
  const proc = Bun.spawn([binary, ...args], { cwd, env: cleanEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
