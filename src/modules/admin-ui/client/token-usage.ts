/// <reference lib="dom" />
import { api } from "./api";
import { h, replace, when } from "./dom";
import { usageCharts } from "./usage";
import type { TokenRecord } from "../../tokens/model";

/** Its quota in words: what is left and how it refills, or that it has none. */
function quota({ remaining_uses, refill }: TokenRecord): string {
  if (remaining_uses === null) return "unlimited";
  const left = `${remaining_uses.toLocaleString("en-US")} uses left`;
  return refill === null ? `${left}, no refill` : `${left}; back to ${refill.uses.toLocaleString("en-US")} every ${refill.every}, next at ${refill.next_at.slice(0, 16).replace("T", " ")} UTC`;
}

/** Its rate limit, and its current window as the answering instance counts it (each counts its own). */
function rate({ rate_limit, rate_limit_window: window }: TokenRecord): string {
  if (rate_limit === null) return "none";
  const limit = `${rate_limit.requests.toLocaleString("en-US")} per ${rate_limit.per} (per instance)`;
  if (!window) return `${limit}; no window open`;
  const refused = window.refused === 0 ? "" : `, ${window.refused.toLocaleString("en-US")} refused`;
  return `${limit}; ${window.used.toLocaleString("en-US")} used${refused} in this window, until ${window.ends_at.slice(11, 19)} UTC`;
}

/**
 * One token's use: when and from where it was last used, its quota and rate limit as they are now
 * (the record is read afresh, not taken from a list that may be minutes old), and its charts.
 */
export async function tokenUsage(id: string): Promise<HTMLElement> {
  const [token, charts] = await Promise.all([api<TokenRecord>("GET", `/api/v1/tokens/${encodeURIComponent(id)}`), usageCharts(id)]);
  const fact = (term: string, ...value: (Node | string)[]) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h(
    "section",
    { class: "token-usage", "aria-label": `Usage of ${token.user}'s token ${token.hint}` },
    h("h3", {}, `${token.user}'s token `, h("code", { class: "hint" }, token.hint), token.name === null ? "" : ` (${token.name})`),
    h(
      "dl",
      {},
      ...fact("Last used", when(token.last_used_at), token.last_ip === null ? "" : ` from ${token.last_ip}`),
      ...fact("Requests", token.request_count.toLocaleString("en-US")),
      ...fact("Quota", quota(token)),
      ...fact("Rate limit", rate(token)),
    ),
    charts,
  );
}

/** Shows a token's usage in `target`, above the list (a row inside the table would be as wide as the table). */
export async function showUsage(target: HTMLElement, id: string, notify: (message: string) => void): Promise<void> {
  try {
    replace(target, await tokenUsage(id));
    target.scrollIntoView({ block: "nearest" });
  } catch (error) {
    notify((error as Error).message);
  }
}
