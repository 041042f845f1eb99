import { describe, expect, test } from "bun:test";
import { Glob } from "bun";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const modules = resolve(import.meta.dir, "../../src/modules");

/**
 * drizzle's synchronous terminals as Keyward writes them: `.get()`, `.all()`, `.run()`, `.values()`
 * with no argument, or a prepared statement's with its placeholders (`.get({ hash })`). A Map's
 * `.get(key)`, a header's `.get("name")`, a route's `.get("/path", …)` and an insert's
 * `.values({ … })` take other arguments and do not match.
 */
const syncTerminal = /\.(?:get|all|run|values)\(\s*\)|\.(?:get|all|run)\(\s*\{/g;

/**
 * The only synchronous calls left, each on the line that holds it. A PostgreSQL driver has no
 * synchronous query, so every other call would have to be rewritten before the store could change.
 */
const allowed = [
  // A Map's values, not a query. (The hot path's lookups go through Store.lookup: synchronous on
  // SQLite, a promise on PostgreSQL.)
  { file: "tokens/env-tokens.ts", line: "for (const want of wanted.values())" },
];

/** Browser code (bundled into the admin page) has no database: its `session.get()` reads sessionStorage. */
const browserCode = "admin-ui/client/";

function syncCalls(): { file: string; line: string }[] {
  const found: { file: string; line: string }[] = [];
  for (const file of new Glob("**/*.ts").scanSync(modules)) {
    if (file.startsWith(browserCode)) continue;
    const text = readFileSync(resolve(modules, file), "utf8");
    for (const match of text.matchAll(syncTerminal)) {
      const start = text.lastIndexOf("\n", match.index) + 1;
      const end = text.indexOf("\n", match.index);
      found.push({ file, line: text.slice(start, end === -1 ? undefined : end).trim() });
    }
  }
  return found;
}

describe("service code awaits its queries (issue 16: the store may be PostgreSQL, which has no synchronous query)", () => {
  test("no synchronous drizzle call under src/modules but the allowed ones", () => {
    const unexpected = syncCalls().filter((call) => !allowed.some((ok) => ok.file === call.file && call.line.includes(ok.line)));
    expect(unexpected).toEqual([]);
  });

  test("every allowed call is still there, so the list cannot outlive what it allows", () => {
    const calls = syncCalls();
    const stale = allowed.filter((ok) => !calls.some((call) => ok.file === call.file && call.line.includes(ok.line)));
    expect(stale).toEqual([]);
  });

  test("no module opens bun:sqlite itself", () => {
    const opened = [...new Glob("**/*.ts").scanSync(modules)].filter((file) => /from "(?:bun:sqlite|drizzle-orm\/bun-sqlite)"/.test(readFileSync(resolve(modules, file), "utf8")));
    expect(opened).toEqual([]);
  });

  test.each([
    ["db.select().from(users).get();", 1],
    ["tx\n      .select()\n      .all();", 1],
    ["tx.delete(sessions).run();", 1],
    ["db.select().values();", 1],
    ["this.byHash.get({ hash });", 1],
    ["this.rows.get(key); request.headers.get(\"cookie\"); app.get(\"/data\", handler);", 0],
    ["tx.insert(devices).values({ id });", 0],
  ])("the pattern: %j has %d", (source, count) => {
    expect([...source.matchAll(syncTerminal)].length).toBe(count);
  });
});
