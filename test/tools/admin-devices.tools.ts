import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { ADMIN_TOKEN, client } from "../helpers/api";
import { hasChromium, launchChromium } from "../helpers/browser";
import { startKeyward, type RunningServer } from "../helpers/server";

setDefaultTimeout(30_000);

let server: RunningServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  server = await startKeyward({ env: { KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, KEYWARD_DEVICE_ENROLLMENT: "approval" } });
  if (!hasChromium) return;
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  page.on("dialog", (dialog) => void dialog.accept());
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe.skipIf(!hasChromium)("the admin page's devices under approval enrollment", () => {
  test("approving lets the device collect its tokens with its secret; resetting stops them and makes it pending again", async () => {
    const device = client(server, "");
    const pending = (await device.post("/api/v1/tokens/main", { hardware_fingerprint: "fp-kiosk" })).body;
    await page.goto(`${server.url}/admin`);
    await page.fill("input[name=token]", ADMIN_TOKEN);
    await page.click("button:text-is('Sign in')");
    await page.waitForSelector("h2:text('Overview')");
    await page.click("nav >> text=Devices");
    await page.waitForSelector("h2:text('Devices')");
    const row = page.locator("tr", { hasText: pending.device_id });
    await row.locator(".status.pending").waitFor();

    await row.locator("button:text-is('Approve')").click();
    await row.locator(".status.active").waitFor();
    const tokens = await device.post("/api/v1/tokens/main", { hardware_fingerprint: "fp-kiosk", enrollment_secret: pending.enrollment_secret });
    expect(tokens.status).toBe(201);
    const verify = () => device.get(`/api/v1/tokens/verify?short_token=${tokens.body.short_token}&hardware_fingerprint=fp-kiosk`);
    expect((await verify()).status).toBe(200);

    await row.locator("button:text-is('Reset')").click();
    await row.locator(".status.pending").waitFor();
    expect((await verify()).status).toBe(401);
    expect((await device.post("/api/v1/tokens/main", { hardware_fingerprint: "fp-kiosk" })).body.enrollment_secret).toMatch(/^kwe_/);
  });
});
