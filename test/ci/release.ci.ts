// CI only (.ci/run): cross-compiling five targets takes longer than the rest of a developer's npm test.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

setDefaultTimeout(120_000);
const root = resolve(import.meta.dir, "../..");

describe("release builds", () => {
  test("npm run release cross-compiles five executables of the right formats, with SHA256SUMS", async () => {
    const release = Bun.spawn([process.execPath, "scripts/release.ts"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const output = await new Response(release.stdout).text();
    expect(await release.exited).toBe(0);
    expect(output).toMatch(/keyward-linux-arm64\s+[\d.]+ MB/);
    const dir = join(root, "dist/release");
    const expected: Record<string, RegExp> = {
      "keyward-linux-x64": /ELF 64-bit.*x86-64/,
      "keyward-linux-x64-baseline": /ELF 64-bit.*x86-64/,
      "keyward-linux-arm64": /ELF 64-bit.*ARM aarch64/,
      "keyward-darwin-arm64": /Mach-O 64-bit arm64 executable/,
      "keyward-windows-x64.exe": /PE32\+ executable.*x86-64/,
    };
    for (const [name, format] of Object.entries(expected)) {
      const described = new TextDecoder().decode(Bun.spawnSync(["file", "-b", join(dir, name)]).stdout);
      expect(`${name}: ${described}`).toMatch(new RegExp(`${name}: ${format.source}`));
    }
    const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8").trim().split("\n");
    expect(sums.map((line) => line.split(/\s+/)[1]).sort()).toEqual(Object.keys(expected).sort());
    const host = Bun.spawnSync([join(dir, "keyward-linux-x64"), "--version"]);
    expect(new TextDecoder().decode(host.stdout)).toMatch(/^keyward \d+\.\d+\.\d+/);
  });
});
