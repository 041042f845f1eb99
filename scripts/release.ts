/**
 * npm run release: Keyward for the boxes it lands on, into dist/release/ with SHA256SUMS.
 * Bun fetches each target's runtime from the npm registry the first time.
 */
import type { Build } from "bun";
import { mkdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { compile } from "./compile";

const targets: [name: string, target: Build.CompileTarget][] = [
  ["linux-x64", "bun-linux-x64"],
  ["linux-x64-baseline", "bun-linux-x64-baseline"],
  ["linux-arm64", "bun-linux-arm64"],
  ["darwin-arm64", "bun-darwin-arm64"],
  ["windows-x64", "bun-windows-x64"],
];

const dir = "./dist/release";
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const sums: string[] = [];
for (const [name, target] of targets) {
  const file = join(dir, `keyward-${name}${name.startsWith("windows") ? ".exe" : ""}`);
  await compile(file, target);
  const bytes = await Bun.file(file).bytes();
  sums.push(`${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}  ${basename(file)}`);
  console.log(`${basename(file).padEnd(32)} ${(bytes.length / 1024 / 1024).toFixed(1).padStart(6)} MB`);
}
await Bun.write(join(dir, "SHA256SUMS"), `${sums.join("\n")}\n`);
console.log(`wrote ${join(dir, "SHA256SUMS")}`);
