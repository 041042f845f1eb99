/// <reference lib="dom" />
import { fields, h, replace, when } from "./dom";
import { pagedTable } from "./list";
import type { AuditEvent } from "../../audit/model";
import type { View } from "./main";

export const auditView: View = {
  title: "Audit",
  async render(root, notify) {
    const list = h("div");
    const filter = h(
      "form",
      { class: "row", onsubmit: (e) => (e.preventDefault(), void load()) },
      h("input", { name: "user", placeholder: "user or device", "aria-label": "Filter by user" }),
      h("input", { name: "action", placeholder: "action, e.g. auth.failed", "aria-label": "Filter by action" }),
      h("button", { type: "submit" }, "Filter"),
    );

    async function load() {
      await pagedTable<AuditEvent>(list, {
        path: "/api/v1/audit",
        query: fields(filter),
        columns: ["When", "Action", "Times", "Actor", "User", "Token", "IP", "Detail"],
        notify,
        empty: "No events.",
        row: (e) => [when(e.at), e.action, String(e.count), e.actor ?? "—", e.user ?? "—", e.token_id ?? "—", e.ip ?? "—", e.detail ?? ""],
      });
    }

    replace(root, h("h2", {}, "Audit log"), filter, list);
    await load();
  },
};
