import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Debian's Chromium, headless. CI installs it (.ci/run); on a machine without it the browser
 * tests are skipped, except under CI, where its absence is a failure.
 */
export const hasChromium = existsSync(CHROMIUM) || process.env.CI === "true";

/** `args` adds switches, such as `--host-resolver-rules` for host names that lead to loopback. */
export function launchChromium(args: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Without the networking switches Chromium keeps trying to reach Google's services, which
    // this closed network refuses.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...args],
  });
}
