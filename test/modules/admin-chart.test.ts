import { describe, expect, test } from "bun:test";
import { layout, rows, summary, VIEW, type Chart } from "../../src/modules/admin-ui/client/chart";
import { usageChart } from "../../src/modules/admin-ui/client/usage";

const series = [
  { name: "passed", class: "passed" },
  { name: "refused", class: "refused" },
];
const hours = (values: [number, number][]): Chart => ({
  title: "Last 24 hours",
  series,
  bars: values.map((v, i) => ({ label: `2026-01-05 ${String(i).padStart(2, "0")}:00`, tick: `${String(i).padStart(2, "0")}:00`, values: v })),
});
const bottom = VIEW.height - VIEW.bottom;
const plot = bottom - VIEW.top;

describe("the admin page's bar chart", () => {
  test("draws a bar per bucket, its parts stacked and as tall as their share of the tallest bar", () => {
    const { max, rects } = layout(hours([[10, 0], [5, 5], [0, 2], [0, 0]]));
    expect(max).toBe(10);
    expect(rects.map((parts) => parts.map((r) => [r.class, r.height]))).toEqual([[["passed", plot]], [["passed", plot / 2], ["refused", plot / 2]], [["refused", plot / 5]], []]);
    // Stacked: the refusals sit on the passes, and every bar stands on the axis.
    const [passed, refused] = rects[1]!;
    expect(passed!.y + passed!.height).toBe(bottom);
    expect(refused!.y + refused!.height).toBe(passed!.y);
    // Left to right in order, inside the drawing.
    const xs = rects.flat().map((r) => r.x);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...rects.flat().map((r) => r.x + r.width))).toBeLessThanOrEqual(VIEW.width);
    expect(rects[0]![0]!.x).toBeLessThan(rects[1]![0]!.x);
  });

  test("labels at most four ticks, and says every number in its table and its totals in its label", () => {
    const chart = hours(Array.from({ length: 24 }, (_, i) => [i, i % 3] as [number, number]));
    expect(layout(chart).ticks.map((t) => t.text)).toEqual(["00:00", "06:00", "12:00", "18:00"]);
    expect(rows(chart)).toHaveLength(24);
    expect(rows(chart)[23]).toEqual(["2026-01-05 23:00", "23", "2"]);
    expect(summary(chart)).toBe("Last 24 hours: 276 passed, 24 refused; most at 2026-01-05 23:00: 25.");
  });

  test("no data: no bars, a scale of 0, and a summary of zeros", () => {
    expect(layout(hours([]))).toEqual({ max: 0, rects: [], ticks: [] });
    expect(layout(hours([[0, 0], [0, 0]])).rects).toEqual([[], []]);
    expect(summary(hours([[0, 0]]))).toBe("Last 24 hours: 0 passed, 0 refused.");
    expect(rows(hours([]))).toEqual([]);
  });

  test("one huge value fills the height, and the small ones beside it still show", () => {
    const { max, rects } = layout(hours([[3_000_000_000, 0], [1, 0], [0, 1], [0, 0]]));
    expect(max).toBe(3_000_000_000);
    expect(rects[0]![0]!.height).toBe(plot);
    expect(rects[1]![0]!.height).toBe(1);
    expect(rects[2]![0]!.height).toBe(1);
    expect(rects[3]).toEqual([]);
    expect(rows(hours([[3_000_000_000, 0]]))[0]).toEqual(["2026-01-05 00:00", "3,000,000,000", "0"]);
  });
});

describe("a usage series as a chart", () => {
  test("the whole server's: passes and the refusals summed over their reasons, labelled in UTC", () => {
    const chart = usageChart(
      {
        bucket: "1h",
        from: "2026-01-05T10:00:00.000Z",
        to: "2026-01-05T12:00:00.000Z",
        points: [
          { start: "2026-01-05T10:00:00.000Z", successes: 4, sources: { api: 4 }, failures: { unknown: 2, expired: 1 } },
          { start: "2026-01-05T11:00:00.000Z", successes: 0, sources: {}, failures: {} },
        ],
      },
      "Day",
    );
    expect(chart.series.map((s) => s.name)).toEqual(["passed", "refused"]);
    expect(chart.bars).toEqual([
      { label: "2026-01-05 10:00", tick: "10:00", values: [4, 3] },
      { label: "2026-01-05 11:00", tick: "11:00", values: [0, 0] },
    ]);
  });

  test("a token's: its uses only, days ticked by month and day", () => {
    const chart = usageChart({ bucket: "1d", from: "2026-01-05T00:00:00.000Z", to: "2026-01-06T00:00:00.000Z", token_id: "tok_x", points: [{ start: "2026-01-05T00:00:00.000Z", successes: 7 }] }, "Month");
    expect(chart.series.map((s) => s.name)).toEqual(["uses"]);
    expect(chart.bars).toEqual([{ label: "2026-01-05 00:00", tick: "01-05", values: [7] }]);
  });
});
