import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { tempDir } from "../helpers/binary";
import { hasChromium, launchChromium } from "../helpers/browser";
import { startKeyward, type RunningServer } from "../helpers/server";

setDefaultTimeout(30_000);

const docs = process.env.KEYWARD_SCREENSHOTS_DIR ? resolve(process.env.KEYWARD_SCREENSHOTS_DIR) : tempDir("keyward-screenshots-");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const USES = 7;
const REFUSED = 3;
const GUESSER = "10.77.0.1";

type Row = { resolution: "1h" | "1d"; start: number; series: string; outcome: "success" | "failure"; reason: string; count: number };

/**
 * Past use, written into the stopped server's database: hours of the last day and days of the
 * last month, so the charts have a shape and the totals a known part. Hours roll into their days.
 */
function history(now: number, tokenId: string): Row[] {
  const rows: Row[] = [];
  const add = (start: number, series: string, outcome: Row["outcome"], reason: string, count: number) => {
    rows.push({ resolution: "1h", start: Math.floor(start / HOUR) * HOUR, series, outcome, reason, count });
    rows.push({ resolution: "1d", start: Math.floor(start / DAY) * DAY, series, outcome, reason, count });
  };
  for (let back = 1; back <= 23; back++) {
    add(now - back * HOUR, "all", "success", "api", 20 + ((back * 37) % 50));
    add(now - back * HOUR, tokenId, "success", "", 5 + (back % 7));
    if (back % 5 === 0) add(now - back * HOUR, "all", "failure", "unknown", back);
  }
  for (let back = 2; back <= 29; back++) add(now - back * DAY, "all", "success", "api", 300 + ((back * 131) % 700));
  // One row per key: the hours of a day add up into its day.
  const summed = new Map<string, Row>();
  for (const row of rows) {
    const key = `${row.resolution} ${row.start} ${row.series} ${row.outcome} ${row.reason}`;
    const held = summed.get(key);
    if (held) held.count += row.count;
    else summed.set(key, { ...row });
  }
  return [...summed.values()];
}

let server: RunningServer;
let browser: Browser;
let tokenId: string;
let seeded: Row[];
const within = (rows: Row[], resolution: Row["resolution"], series: string, outcome: Row["outcome"], since: number) =>
  rows.filter((r) => r.resolution === resolution && r.series === series && r.outcome === outcome && r.start >= since).reduce((a, r) => a + r.count, 0);

beforeAll(async () => {
  // The refusals come "through a proxy" from an address of their own, which they lock out (three failures).
  const env = { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_TRUSTED_PROXIES: "127.0.0.1", KEYWARD_MAX_FAILURES: String(REFUSED) };
  const first = await startKeyward({ env });
  const created = (await client(first).post("/api/v1/tokens", { user: "alice", name: "alice's laptop", rate_limit: { requests: 1000, per: "1m" }, remaining_uses: 500, refill: { uses: 500, every: "30d" } })).body;
  tokenId = created.id;
  await first.stop();
  const now = Date.now();
  seeded = history(now, tokenId);
  const db = new Database(first.db);
  const insert = db.prepare(
    "INSERT INTO usage_buckets (resolution, start, series, outcome, reason, count) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count",
  );
  for (const r of seeded) insert.run(r.resolution, r.start, r.series, r.outcome, r.reason, r.count);
  db.close();
  server = await startKeyward({ cwd: first.cwd, db: first.db, env });
  for (let i = 0; i < USES; i++) expect((await client(server, created.token).get("/data")).status).toBe(200);
  const guess = { authorization: `Bearer kw_${"x".repeat(49)}`, "x-forwarded-for": GUESSER };
  for (let i = 0; i < REFUSED; i++) expect((await server.fetch("/data", { headers: guess })).status).toBe(401);
  if (hasChromium) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Signs in and waits for the overview; the whole-server day series and the busiest tokens the page
 * drew, as the API gave them (the admin's own requests count too, so a later call differs).
 */
async function overview(page: Page): Promise<{ day: any; top: any }> {
  await page.goto(`${server.url}/admin`);
  await page.fill("input[name=token]", ADMIN_TOKEN);
  const answer = (path: string) => page.waitForResponse((res) => res.url().endsWith(path)).then((res) => res.json());
  const answers = Promise.all([answer("/api/v1/usage?bucket=1h"), answer("/api/v1/usage/top?since=24h&limit=10")]);
  await page.click("button:text-is('Sign in')");
  const [day, top] = await answers;
  await page.locator("figure.chart").nth(1).waitFor();
  await page.locator("table.top").waitFor();
  return { day, top };
}

/** A chart's table, read from the page as text: its rows of [when, n, n…], numbers parsed. */
async function numbers(page: Page, figure: number): Promise<[string, ...number[]][]> {
  const cells = await page.locator("figure.chart").nth(figure).locator("tbody tr").evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent!)));
  return cells.map(([when, ...values]) => [when!, ...values.map((v) => Number(v.replaceAll(",", "")))]);
}

const column = (rows: [string, ...number[]][], i: number) => rows.reduce((a, row) => a + (row[i] as number), 0);

describe.skipIf(!hasChromium)("the admin page's usage charts", () => {
  test("the overview opens first; its numbers, as text, are the API's: every refusal, and every pass", async () => {
    const page = await browser.newPage();
    const { day } = await overview(page);
    expect(await page.locator("nav button.current").textContent()).toBe("Overview");
    const hours = await numbers(page, 0);
    expect(hours).toHaveLength(day.points.length);
    expect(hours).toEqual(day.points.map((p: any) => [`${p.start.slice(0, 10)} ${p.start.slice(11, 16)}`, p.successes, Object.values(p.failures as Record<string, number>).reduce((a, b) => a + b, 0)]));
    // Known parts: the refusals are the seeded ones and ours; the passes at least the seeded and the token's.
    const since = day.points[0].start;
    expect(column(hours, 2)).toBe(within(seeded, "1h", "all", "failure", Date.parse(since)) + REFUSED);
    expect(column(hours, 1)).toBeGreaterThanOrEqual(within(seeded, "1h", "all", "success", Date.parse(since)) + USES);
    // The totals in words: in the legend, and in the drawing's label for a screen reader.
    const svg = page.locator("figure.chart").nth(0).locator("svg[role=img]");
    expect(await svg.getAttribute("aria-label")).toContain(`${column(hours, 1).toLocaleString("en-US")} passed, ${column(hours, 2).toLocaleString("en-US")} refused`);
    expect(await page.locator("figure.chart").nth(0).locator(".legend").textContent()).toContain(`${column(hours, 2)} refused`);
    expect(await svg.locator("rect").count()).toBeGreaterThanOrEqual(23);

    // The address that guessed is locked out, and listed with when it may try again.
    const locks = (await client(server).get("/api/v1/lockouts")).body;
    expect(locks).toEqual([expect.objectContaining({ kind: "address", subject: GUESSER })]);
    expect(await page.locator("table.lockouts tbody tr").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)))).toEqual([
      [GUESSER, "address", `${locks[0].until.slice(0, 10)} ${locks[0].until.slice(11, 16)}`],
    ]);

    const month = await numbers(page, 1);
    expect(month.length).toBe(31);
    const api = (await client(server).get("/api/v1/usage?bucket=1d")).body;
    expect(column(month, 2)).toBe(api.points.reduce((a: number, p: any) => a + Object.values(p.failures as Record<string, number>).reduce((x, y) => x + y, 0), 0));
    expect(column(month, 1)).toBeGreaterThanOrEqual(within(seeded, "1d", "all", "success", 0) + USES);
    await page.close();
  });

  test("the busiest tokens link to their usage: the token's chart counts its uses exactly, beside its quota and rate limit", async () => {
    const page = await browser.newPage();
    const top = (await overview(page)).top.tokens;
    expect(top[0]).toMatchObject({ token_id: tokenId, successes: within(seeded, "1h", tokenId, "success", 0) + USES });
    expect(await page.locator("table.top tbody tr").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)))).toEqual(
      top.map((t: any) => [t.user === null ? t.token_id : (t.name ?? t.token_id), t.user ?? "—", t.successes.toLocaleString("en-US")]),
    );
    await page.click("table.top >> button:text-is(\"alice's laptop\")");
    const panel = page.locator("section.token-usage");
    await panel.locator("figure.chart").nth(1).waitFor();
    const tokenDay = (await client(server).get(`/api/v1/usage?bucket=1h&token_id=${tokenId}`)).body;
    const hours = await numbers(page, 2);
    expect(column(hours, 1)).toBe(within(seeded, "1h", tokenId, "success", Date.parse(tokenDay.points[0].start)) + USES);
    expect(hours.map((row) => row[1])).toEqual(tokenDay.points.map((p: any) => p.successes));
    const month = await numbers(page, 3);
    expect(column(month, 1)).toBe(within(seeded, "1d", tokenId, "success", 0) + USES);
    const facts = await panel.locator("dl").textContent();
    expect(facts).toContain(`Requests${USES}`);
    expect(facts).toContain(`Quota${500 - USES} uses left; back to 500 every 30d`);
    // Its window as the answering instance counts it: the known uses, unless a slow run let the minute end.
    expect(facts).toMatch(new RegExp(`Rate limit1,000 per 1m \\(per instance\\); (${USES} used in this window, until \\d\\d:\\d\\d:\\d\\d UTC|no window open)`));
    await page.close();
  });

  test("the Usage button in the tokens list opens the same panel", async () => {
    const page = await browser.newPage();
    await overview(page);
    await page.click("nav >> text=Tokens");
    await page.locator("tr", { hasText: "alice's laptop" }).locator("button:text-is('Usage')").click();
    await page.locator("section.token-usage figure.chart").nth(1).waitFor();
    expect(await page.locator("section.token-usage h3").textContent()).toContain("alice's token");
    await page.close();
  });

  test.each([390, 1280])("at %i px: no sideways scroll, legible tick labels, no console error", async (width) => {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await overview(page);
    await page.click("table.top >> button:text-is(\"alice's laptop\")");
    await page.locator("section.token-usage figure.chart").nth(1).waitFor();
    const layout = await page.evaluate(() => ({
      pageWidth: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      // The smallest tick label as drawn, in CSS pixels.
      smallest: Math.min(...[...document.querySelectorAll("figure.chart text")].map((t) => t.getBoundingClientRect().height)),
    }));
    expect(layout.pageWidth).toBeLessThanOrEqual(layout.viewport);
    expect(layout.smallest).toBeGreaterThanOrEqual(9);
    await page.screenshot({ path: join(docs, `admin-usage-${width}.png`), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });
});
