/**
 * npm run test:pg: the in-process scenario tests (the ones that build the app with inProcessApp)
 * again on PostgreSQL, with KEYWARD_TEST_PG=1: a throwaway cluster per test process, a database
 * per app. Without PostgreSQL's binaries it says so and skips, except under CI=true, where it fails.
 */
import { existsSync, globSync, readFileSync, statfsSync } from "node:fs";

const hasPostgres = globSync("/usr/lib/postgresql/*/bin/pg_ctl").length > 0;
if (!hasPostgres) {
  const message = "no PostgreSQL in /usr/lib/postgresql/*/bin: install Debian's postgresql package";
  if (process.env.CI === "true") {
    console.error(`test:pg: ${message}`);
    process.exit(1);
  }
  console.log(`test:pg skipped: ${message}`);
  process.exit(0);
}

// What builds the app in-process, directly or through the scenario and portal helpers.
const inProcess = /\binProcessApp\b|helpers\/(scenario|portal|dpop-app)"/;
const files = ["test/http", "test/modules"]
  .flatMap((dir) => globSync(`${dir}/**/*.test.ts`))
  .filter((file) => inProcess.test(readFileSync(file, "utf8")))
  .sort()
  .map((file) => `./${file}`);

// Every app creates and drops a database: on tmpfs that is milliseconds, on a busy disk a third of a second.
const env: Record<string, string | undefined> = { ...process.env, KEYWARD_TEST_PG: "1" };
if (existsSync("/dev/shm")) {
  const { bavail, bsize } = statfsSync("/dev/shm");
  if (bavail * bsize >= 1024 ** 3) env.TMPDIR = "/dev/shm";
}

const run = Bun.spawn(["bun", "test", "--parallel", ...files, ...process.argv.slice(2)], { env, stdio: ["inherit", "inherit", "inherit"] });
process.exit(await run.exited);
