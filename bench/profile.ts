/**
 * Reads the markdown profile `bun --cpu-prof-md` writes and ranks functions by their own samples.
 * Samples, not the reported times: the profiler charges an idle stretch to whatever ran last, so a
 * one-off function can show a second of "self time" from two samples.
 */
export interface HotFunction {
  name: string;
  location: string;
  /** Share of all samples in which this function itself was running. */
  share: number;
}

export function hottest(markdown: string, count: number): HotFunction[] {
  const found: { name: string; location: string; samples: number }[] = [];
  const entry = /^### `(.+)`\n`(.+)` \| Self: .* \| Samples: (\d+)$/gm;
  for (const [, name, location, samples] of markdown.matchAll(entry)) found.push({ name: name!, location: location!, samples: Number(samples) });
  const total = found.reduce((sum, f) => sum + f.samples, 0);
  return found
    .sort((a, b) => b.samples - a.samples)
    .slice(0, count)
    .map(({ name, location, samples }) => ({ name, location: location.replace(/^\/\$bunfs\/root\//, ""), share: samples / total }));
}

/**
 * Runs `binary serve` under `bun --cpu-prof-md` (through BUN_OPTIONS, which a compiled Bun binary
 * reads) while `load` runs against it, and returns its hottest functions once it has stopped.
 */
export async function profileUnderLoad<S extends { proc: Bun.Subprocess }>(
  start: (env: Record<string, string>) => Promise<S>,
  load: (server: S) => Promise<unknown>,
  dir: string,
  count = 12,
): Promise<HotFunction[]> {
  const server = await start({ BUN_OPTIONS: `--cpu-prof-md --cpu-prof-dir=${dir} --cpu-prof-interval=250` });
  await load(server);
  server.proc.kill("SIGTERM");
  await server.proc.exited;
  const [file] = await Array.fromAsync(new Bun.Glob("*.md").scan({ cwd: dir, absolute: true }));
  if (!file) throw new Error("the profiled server wrote no profile");
  return hottest(await Bun.file(file).text(), count);
}

/** The profile as a markdown table. */
export function profileTable(hot: HotFunction[]): string[] {
  return ["| share of samples | function | where |", "| ---: | --- | --- |", ...hot.map((h) => `| ${(h.share * 100).toFixed(1)}% | \`${h.name}\` | ${h.location} |`)];
}
