/// <reference lib="dom" />
import { api } from "./api";
import { h, replace, when } from "./dom";
import { showUsage } from "./token-usage";
import { usageCharts } from "./usage";
import type { LockoutRecord } from "../../lockouts/model";
import type { TopTokens } from "../../usage/model";
import type { View } from "./main";

/** Tokens listed: the busiest few are the question; the Tokens tab has the rest. */
const TOP = 10;

/** Locks listed: past a screenful, someone is guessing from everywhere, and the count says so. */
const LOCKS = 50;

/** The whole server at a glance: passes and refusals over a day and a month, the busiest tokens, the lockouts now. */
export const overviewView: View = {
  title: "Overview",
  async render(root, notify) {
    const detail = h("div");
    const [charts, top, locks] = await Promise.all([
      usageCharts(),
      api<typeof TopTokens.static>("GET", `/api/v1/usage/top?since=24h&limit=${TOP}`),
      api<(typeof LockoutRecord.static)[]>("GET", `/api/v1/lockouts?limit=${LOCKS}`),
    ]);
    const locked =
      locks.length === 0
        ? h("p", { class: "empty" }, "Nothing is locked out.")
        : h(
            "div",
            { class: "table-box" },
            h(
              "table",
              { class: "lockouts" },
              h("thead", {}, h("tr", {}, h("th", {}, "Locked"), h("th", {}, "What"), h("th", {}, "Until"))),
              h("tbody", {}, ...locks.map((lock) => h("tr", {}, h("td", {}, h("code", {}, lock.subject)), h("td", {}, lock.kind), h("td", {}, when(lock.until))))),
            ),
          );
    const busiest =
      top.tokens.length === 0
        ? h("p", { class: "empty" }, "No token was used in the last 24 hours.")
        : h(
            "div",
            { class: "table-box" },
            h(
              "table",
              { class: "top" },
              h("thead", {}, h("tr", {}, h("th", {}, "Token"), h("th", {}, "User"), h("th", {}, "Uses"))),
              h(
                "tbody",
                {},
                ...top.tokens.map((t) =>
                  h(
                    "tr",
                    {},
                    // A token deleted since keeps its counts but has no record to open.
                    h("td", {}, t.user === null ? h("code", { class: "id" }, t.token_id) : h("button", { type: "button", class: "link", onclick: () => void showUsage(detail, t.token_id, notify) }, t.name ?? t.token_id)),
                    h("td", {}, t.user ?? "—"),
                    h("td", {}, t.successes.toLocaleString("en-US")),
                  ),
                ),
              ),
            ),
          );
    replace(root, h("h2", {}, "Overview"), h("p", {}, "Authentications passed and refused, in UTC. Refusals are counted for the whole server, not per token."), charts, h("h2", {}, "Busiest tokens, last 24 hours"), busiest, detail, h("h2", {}, "Locked out now"), h("p", {}, "Addresses and names with too many failed attempts, on this instance."), locked);
  },
};
