/// <reference lib="dom" />
import { h } from "./dom";

export interface Bar {
  /** The bar's whole name, in its tooltip and the table ("2026-01-05 10:00"). */
  label: string;
  /** Its short name under the axis ("10:00"). */
  tick: string;
  /** One value per series, stacked from the bottom in the series' order. */
  values: readonly number[];
}

export interface Chart {
  title: string;
  series: readonly { name: string; class: string }[];
  bars: readonly Bar[];
}

/**
 * The drawing's own units: about a phone's width, so at 390 px its text is near its set size; a
 * wider screen scales it up with the viewBox.
 */
export const VIEW = { width: 360, height: 150, top: 14, bottom: 16 } as const;
const PLOT = VIEW.height - VIEW.top - VIEW.bottom;
/** Axis labels at most: more would overlap at 10 units a character. */
const TICKS = 4;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  class: string;
}

export interface Layout {
  /** The tallest bar's total: the top of the scale. */
  max: number;
  /** Per bar, its stacked parts (a zero part has no rectangle). */
  rects: Rect[][];
  ticks: { x: number; text: string }[];
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const exact = (n: number) => n.toLocaleString("en-US");

/**
 * Where every bar goes. Heights are proportional to the tallest bar, except that a part that is not
 * zero is at least one unit tall: one huge hour must not hide that the others had any use at all.
 */
export function layout({ series, bars }: Chart): Layout {
  const max = Math.max(0, ...bars.map((bar) => sum(bar.values)));
  const step = VIEW.width / Math.max(1, bars.length);
  const width = Math.max(1, step * 0.8);
  const rects = bars.map((bar, i) => {
    let bottom = VIEW.top + PLOT;
    const parts: Rect[] = [];
    bar.values.forEach((value, s) => {
      if (value <= 0) return;
      const height = Math.max(1, (value / max) * PLOT);
      bottom -= height;
      parts.push({ x: round(i * step + (step - width) / 2), y: round(bottom), width: round(width), height: round(height), class: series[s]?.class ?? "" });
    });
    return parts;
  });
  const every = Math.max(1, Math.ceil(bars.length / TICKS));
  const ticks = bars.flatMap((bar, i) => (i % every === 0 ? [{ x: round(i * step), text: bar.tick }] : []));
  return { max, rects, ticks };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Each series' sum over the bars, as "12 passed". */
export const totals = (chart: Chart): string[] => chart.series.map((s, i) => `${exact(sum(chart.bars.map((bar) => bar.values[i] ?? 0)))} ${s.name}`);

/** The chart in one sentence, for a screen reader: each series' total, and the busiest bar. */
export function summary(chart: Chart): string {
  const busiest = chart.bars.reduce<Bar | null>((top, bar) => (top === null || sum(bar.values) > sum(top.values) ? bar : top), null);
  const peak = busiest === null || sum(busiest.values) === 0 ? "" : `; most at ${busiest.label}: ${exact(sum(busiest.values))}`;
  return `${chart.title}: ${totals(chart).join(", ")}${peak}.`;
}

/** The numbers as a table, row per bar: the chart's text for anyone who cannot see it. */
export function rows(chart: Chart): string[][] {
  return chart.bars.map((bar) => [bar.label, ...chart.series.map((_, i) => exact(bar.values[i] ?? 0))]);
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attributes: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  element.append(...children);
  return element;
}

/**
 * A stacked bar chart as inline SVG, with its totals in words (the SVG's label) and every number
 * in a table under it. Colours come from the series' classes in admin.css: the page's policy
 * forbids style attributes.
 */
export function barChart(chart: Chart): HTMLElement {
  const { max, rects, ticks } = layout(chart);
  const drawing = svg(
    "svg",
    { viewBox: `0 0 ${VIEW.width} ${VIEW.height}`, role: "img", "aria-label": summary(chart) },
    svg("line", { x1: 0, x2: VIEW.width, y1: VIEW.top, y2: VIEW.top, class: "grid" }),
    svg("line", { x1: 0, x2: VIEW.width, y1: VIEW.top + PLOT, y2: VIEW.top + PLOT, class: "axis" }),
    svg("text", { x: 0, y: VIEW.top - 4, class: "scale" }, exact(max)),
    ...rects.map((parts, i) => {
      const bar = chart.bars[i]!;
      const said = chart.series.map((s, j) => `${exact(bar.values[j] ?? 0)} ${s.name}`).join(", ");
      return svg("g", {}, svg("title", {}, `${bar.label}: ${said}`), ...parts.map((r) => svg("rect", { x: r.x, y: r.y, width: r.width, height: r.height, class: r.class })));
    }),
    ...ticks.map((tick) => svg("text", { x: tick.x, y: VIEW.height - 3, class: "tick" }, tick.text)),
  );
  // The totals in the legend are the figure's visible words; the SVG's label says them to a screen reader.
  const legend = h("span", { class: "legend", "aria-hidden": "true" }, ...totals(chart).map((total, i) => h("span", { class: chart.series[i]!.class }, total)));
  const table = h(
    "table",
    {},
    h("thead", {}, h("tr", {}, h("th", {}, "When (UTC)"), ...chart.series.map((s) => h("th", {}, s.name)))),
    h("tbody", {}, ...rows(chart).map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, cell))))),
  );
  return h("figure", { class: "chart" }, h("figcaption", {}, chart.title, " ", legend), drawing, h("details", {}, h("summary", {}, "The numbers"), h("div", { class: "table-box" }, table)));
}
