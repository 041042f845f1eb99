/// <reference lib="dom" />
import { api } from "./api";
import { barChart, type Chart } from "./chart";
import { h } from "./dom";
import type { UsageSeriesRecord } from "../../usage/model";

type Series = typeof UsageSeriesRecord.static;
type Bucket = "1h" | "1d";

/** The two spans every usage view shows: a day by hour and a month by day (the API's defaults). */
export const SPANS: readonly { bucket: Bucket; title: string }[] = [
  { bucket: "1h", title: "Last 24 hours, by hour" },
  { bucket: "1d", title: "Last 30 days, by day" },
];

export const usage = (bucket: Bucket, tokenId?: string) =>
  api<Series>("GET", `/api/v1/usage?${new URLSearchParams({ bucket, ...(tokenId === undefined ? {} : { token_id: tokenId }) })}`);

const refusals = (failures: Record<string, number> = {}) => Object.values(failures).reduce((a, b) => a + b, 0);

/** A series as a chart: the whole server's with its refusals stacked on its passes, a token's with its uses. */
export function usageChart(series: Series, title: string): Chart {
  const whole = series.token_id === undefined;
  return {
    title,
    series: whole ? [{ name: "passed", class: "passed" }, { name: "refused", class: "refused" }] : [{ name: "uses", class: "passed" }],
    // Buckets are UTC, so is every label: "2026-01-05 10:00", under the axis "10:00" (hours) or "01-05" (days).
    bars: series.points.map((point) => ({
      label: `${point.start.slice(0, 10)} ${point.start.slice(11, 16)}`,
      tick: series.bucket === "1d" ? point.start.slice(5, 10) : point.start.slice(11, 16),
      values: whole ? [point.successes, refusals(point.failures)] : [point.successes],
    })),
  };
}

/** The day and the month, side by side where the screen allows. */
export async function usageCharts(tokenId?: string): Promise<HTMLElement> {
  const charts = await Promise.all(SPANS.map(async ({ bucket, title }) => barChart(usageChart(await usage(bucket, tokenId), title))));
  return h("div", { class: "charts" }, ...charts);
}
