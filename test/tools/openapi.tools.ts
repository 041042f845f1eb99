import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { Middleware } from "openapi-fetch";
import { ADMIN_TOKEN } from "../helpers/api";
import { inProcessApp } from "../helpers/app";
import { typesFor } from "../helpers/openapi-typescript";
import { tokenLifecycle } from "./openapi-tools/token-lifecycle";

/**
 * The OpenAPI document as tools nobody here wrote read it: Redocly's linter, openapi-typescript's
 * generator with TypeScript's strict checker over its output, and an openapi-fetch client whose
 * every answer is held against the document's schema for its status.
 */

const repo = resolve(import.meta.dir, "../..");
let dir: string;
let document: OpenApi;

interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keyward-openapi-"));
  // The generated types and the client that uses them resolve openapi-fetch (and its types) from here.
  await symlink(join(repo, "node_modules"), join(dir, "node_modules"));
  // With the sign-in portal on, so that the document holds every route.
  const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_PUBLIC_URL: "https://auth.home.lan" });
  document = (await (await kw.fetch("/swagger/json")).json()) as OpenApi;
  await Bun.write(join(dir, "keyward.json"), JSON.stringify(document, null, 2));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(command: string[]) {
  const child = Bun.spawn(command, {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
    // Redocly would otherwise report usage and look for a newer version: the test needs no internet.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

/** An openapi-fetch middleware that checks each JSON answer against the document's schema for its path, method and status. */
function answerChecker() {
  const ajv = addFormats(new Ajv2020({ allErrors: true }));
  const validators = new Map<string, ValidateFunction>();
  const checked: string[] = [];
  const mismatches: string[] = [];
  const middleware: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const where = `${request.method} ${schemaPath} ${response.status}`;
      const declared = document.paths[schemaPath]?.[request.method.toLowerCase()]?.responses[String(response.status)];
      const schema = declared?.content?.["application/json"]?.schema;
      if (schema === undefined) {
        mismatches.push(`${where}: not declared as JSON`);
        return;
      }
      let validate = validators.get(where);
      if (validate === undefined) validators.set(where, (validate = ajv.compile(schema)));
      if (!validate(await response.clone().json())) mismatches.push(`${where}: ${ajv.errorsText(validate.errors)}`);
      checked.push(where);
    },
  };
  return { middleware, checked, mismatches };
}

describe("the OpenAPI document, read by independent tools", () => {
  test("Redocly's recommended rules find no error in it", async () => {
    const lint = await run(["bun", join(repo, "node_modules/@redocly/cli/bin/cli.js"), "lint", "keyward.json", "--extends=recommended", "--format=json"]);
    const report = JSON.parse(lint.stdout) as { totals: { errors: number }; problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[] };
    const errors = report.problems.filter((p) => p.severity === "error").map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(lint.code).toBe(0);
  }, 30_000);

  test("openapi-typescript's types for it, and a client using them, pass TypeScript's strict checks, library files included", async () => {
    const types = await typesFor(document);
    expect(new Set(types.match(/request_count: [^;]+/g))).toEqual(new Set(["request_count: number"]));
    await Bun.write(join(dir, "keyward.d.ts"), types);
    await Bun.write(join(dir, "token-lifecycle.ts"), Bun.file(join(import.meta.dir, "openapi-tools/token-lifecycle.ts")));
    await Bun.write(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, target: "ES2022", module: "Preserve", moduleResolution: "bundler", lib: ["ES2022", "DOM"], types: [] },
        files: ["keyward.d.ts", "token-lifecycle.ts"],
      }),
    );
    // Our TypeScript (7), by its path: openapi-typescript's 5.9 is for generating only.
    const check = await run([join(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"]);
    expect(check.stdout + check.stderr).toBe("");
    expect(check.code).toBe(0);
    // Checking TypeScript's and openapi-fetch's own declarations too takes seconds, more on a busy machine.
  }, 30_000);

  test("a token's life through that client: every answer is what the document says for its status", async () => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const { middleware, checked, mismatches } = answerChecker();
    const life = await tokenLifecycle({ fetch: (request) => kw.app.handle(request), adminToken: ADMIN_TOKEN, check: middleware });
    expect(life).toMatchObject({
      user: "alice",
      created: { user: "alice", status: "active" },
      me: "alice",
      hot: { data: "Hello alice, here is your data!", forwarded: "alice", requested: "user", verified: expect.any(String), learned: "fp-lifecycle" },
      requests: [4],
      firstAfterRotation: { status: 401, code: "invalid_token" },
      secondAfterRotation: life.rotated.id,
      revoked: { status: "revoked" },
      secondAfterRevocation: { status: 401, code: "invalid_token" },
    });
    expect(life.created.expiresAt).toEqual(expect.any(String));
    expect(mismatches).toEqual([]);
    expect(checked).toHaveLength(15);
  });
});
