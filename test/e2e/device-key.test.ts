import { describe, expect, test } from "bun:test";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { tempDir } from "../helpers/binary";
import { serverPool } from "../helpers/server";

const root = join(import.meta.dir, "../..");
const pool = serverPool({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_DEVICE_REQUIRE_KEY: "true" } });

/** The README's device-side example, exactly as written: the one ```js block of its DPoP section. */
function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("### Devices that hold a key (DPoP)");
  const section = readme.slice(start, readme.indexOf("\n## ", start));
  const blocks = [...section.matchAll(/^```js\n([\s\S]*?)^```$/gm)];
  expect(blocks.length).toBe(1);
  return blocks[0]![1]!;
}

/** A directory holding the example, where `import "jose"` finds this project's copy, as `npm install jose` would. */
function exampleDir(): string {
  const dir = tempDir("keyward-device-");
  writeFileSync(join(dir, "device.mjs"), readmeExample());
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

describe("the README's device-side example", () => {
  // Node too: the README says Bun or Node 20+; CI installs Node for npm.
  test.each([["bun", process.execPath], ["node", Bun.which("node")]] as const)("run by %s against the binary (keys required), enrolls with a non-extractable key and calls /api/v1/me and verify", async (_, runtime) => {
    expect(runtime).not.toBeNull();
    const server = await pool();
    const dir = exampleDir();
    const run = Bun.spawn([runtime!, "device.mjs"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, KEYWARD_URL: server.url, FINGERPRINT: "fp-readme-device" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, out, err] = await Promise.all([run.exited, new Response(run.stdout).text(), new Response(run.stderr).text()]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const [device] = (await client(server).get("/api/v1/devices")).body;
    expect([device.fingerprint, device.key_thumbprint]).toEqual(["fp-readme-device", expect.stringMatching(/^[A-Za-z0-9_-]{43}$/)]);
    const bound = device.key_thumbprint as string;
    // What the script printed: /api/v1/me's principal (the device), then verify's answer.
    expect(out).toContain(device.id);
    expect(out).toMatch(/valid: true|"valid":\s*true/);
    // A second run is another key for the same fingerprint: refused, the first key's device intact.
    const again = Bun.spawn([runtime!, "device.mjs"], { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, KEYWARD_URL: server.url, FINGERPRINT: "fp-readme-device" }, stderr: "pipe", stdout: "ignore" });
    expect(await again.exited).not.toBe(0);
    expect(await new Response(again.stderr).text()).toContain("device_key_mismatch");
    expect((await client(server).get("/api/v1/devices")).body[0].key_thumbprint).toBe(bound);
  });
});
