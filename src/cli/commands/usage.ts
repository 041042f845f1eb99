import { usageResolutions } from "../../db/schema";
import { parsePositiveDuration } from "../../config-values";
import { DomainError } from "../../lib/errors";
import { presentSeries } from "../../modules/usage/model";
import { defaultSpan, readUsage, usageRange, type UsagePoint } from "../../modules/usage/service";
import { command, jsonOption, settingOptions, type Command } from "../command";
import { withDatabase } from "../database";
import { printResult, shortTime } from "../output";
import { printable } from "../../lib/printable";

const BARS = "▁▂▃▄▅▆▇█";
/** Characters a sparkline takes at most: longer series are summed into groups of neighbouring buckets. */
const WIDTH = 72;

/** One bar per bucket (or group of buckets), the tallest the largest count; nothing counted is the lowest bar. */
export function sparkline(counts: readonly number[], width = WIDTH): string {
  const per = Math.ceil(counts.length / width);
  const sums: number[] = [];
  for (let i = 0; i < counts.length; i += per) sums.push(counts.slice(i, i + per).reduce((a, b) => a + b, 0));
  const peak = Math.max(0, ...sums);
  return sums.map((sum) => (sum === 0 ? BARS[0] : BARS[Math.min(7, 1 + Math.floor((sum / peak) * 7))])).join("");
}

const total = (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0);

/** Counts by key over all points, largest first: `unknown 10, expired 2`. */
function byKey(points: readonly UsagePoint[], pick: (point: UsagePoint) => Record<string, number> | undefined): string {
  const sums = new Map<string, number>();
  for (const point of points) for (const [key, count] of Object.entries(pick(point) ?? {})) sums.set(key, (sums.get(key) ?? 0) + count);
  return [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([key, count]) => `${key} ${count}`).join(", ");
}

export const usageCommand: Command = command({
  name: "usage",
  summary: "Show authentications over time, for the whole server or one token, with a sparkline.",
  options: {
    token: { type: "string", value: "ID", help: "one token's successful uses (by its id) instead of the whole server's" },
    since: { type: "string", value: "D", help: "how far back: 30m, 24h, 7d… (default 24h, 30d with --bucket 1d)" },
    bucket: { type: "string", choices: usageResolutions, help: "bucket length: 1m, 1h (default) or 1d; at most 1,500 buckets" },
    ...jsonOption,
    ...settingOptions("db"),
  },
  run(flags) {
    const bucket = flags.bucket ?? "1h";
    return withDatabase(flags, async (store) => {
      const now = Date.now();
      const span = flags.since === undefined ? defaultSpan(bucket) : sinceFlag(flags.since);
      const range = usageRange(bucket, new Date(now - span).toISOString(), new Date(now).toISOString(), now, flags.token);
      const points = await readUsage(store.db, range);
      const answer = presentSeries(range, points);
      printResult(flags.json, answer, () => {
        const who = flags.token === undefined ? "The whole server" : `Token ${printable(flags.token)}`;
        const line = (label: string, counts: number[], detail = "") =>
          process.stdout.write(`${label.padEnd(10)} ${sparkline(counts)}  ${total(counts)}${detail && ` (${detail})`}\n`);
        process.stdout.write(`${who}, ${bucket} buckets, ${shortTime(answer.from)} to ${shortTime(answer.to)}:\n`);
        line("successes", points.map((point) => point.successes), printable(byKey(points, (point) => point.sources)));
        if (flags.token === undefined) {
          line("refusals", points.map((point) => total(Object.values(point.failures ?? {}))), printable(byKey(points, (point) => point.failures)));
        }
      });
      return 0;
    });
  },
});

function sinceFlag(text: string): number {
  try {
    return parsePositiveDuration(text);
  } catch (error) {
    throw new DomainError("invalid", "invalid_duration", `--since: ${(error as Error).message}`);
  }
}
