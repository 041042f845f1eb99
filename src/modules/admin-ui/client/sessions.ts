/// <reference lib="dom" />
import { api } from "./api";
import { acting, fields, h, replace, when } from "./dom";
import { pagedTable } from "./list";
import type { SessionRecord } from "../../sessions/model";
import type { View } from "./main";

/** Browsers signed in through the portal; ending one signs that browser out everywhere at once. */
export const sessionsView: View = {
  title: "Sessions",
  async render(root, notify) {
    const list = h("div");
    const act = acting(notify, () => load());
    const filter = h(
      "form",
      { class: "row", onsubmit: (e) => (e.preventDefault(), void load()) },
      h("input", { name: "user", placeholder: "user", "aria-label": "Filter by user" }),
      h("button", { type: "submit" }, "Filter"),
    );

    async function load() {
      await pagedTable<SessionRecord>(list, {
        path: "/api/v1/sessions",
        query: fields(filter),
        columns: ["User", "Session", "Signed in", "Last seen", "Address", "Ends if unused", ""],
        notify,
        empty: "Nobody is signed in.",
        row: (s) => [
          s.user,
          h("code", { class: "id" }, s.id),
          when(s.created_at),
          when(s.last_seen_at),
          s.ip,
          when(s.expires_at),
          h(
            "span",
            { class: "actions" },
            h("button", { type: "button", onclick: () => confirm(`End ${s.user}'s session ${s.id}? That browser is signed out at once.`) && act(() => api("DELETE", `/api/v1/sessions/${s.id}`)) }, "End"),
          ),
        ],
      });
    }

    replace(root, h("h2", {}, "Signed-in browsers"), h("p", {}, "Last seen and address are written at most once a minute."), filter, list);
    await load();
  },
};
