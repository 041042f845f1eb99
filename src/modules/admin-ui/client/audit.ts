/// <reference lib="dom" />
import { api } from "./api";
import { fields, h, replace, table, when } from "./dom";
import type { View } from "./main";

interface AuditEvent {
  id: number;
  at: string;
  action: string;
  actor: string | null;
  user: string | null;
  token_id: string | null;
  ip: string | null;
  detail: string | null;
  count: number;
}

const PAGE = 50;

export const auditView: View = {
  title: "Audit",
  async render(root) {
    const list = h("div");
    const pager = h("p", { class: "row" });
    const pages: (number | undefined)[] = [undefined];
    const filter = h(
      "form",
      { class: "row", onsubmit: (e) => (e.preventDefault(), pages.splice(1), void load()) },
      h("input", { name: "user", placeholder: "user or device", "aria-label": "Filter by user" }),
      h("input", { name: "action", placeholder: "action, e.g. auth.failed", "aria-label": "Filter by action" }),
      h("button", { type: "submit" }, "Filter"),
    );

    async function load() {
      const before = pages.at(-1);
      const query = new URLSearchParams({ ...fields(filter), limit: String(PAGE), ...(before ? { before: String(before) } : {}) });
      const events = await api<AuditEvent[]>("GET", `/api/v1/audit?${query}`);
      replace(
        list,
        table(
          ["When", "Action", "Times", "Actor", "User", "Token", "IP", "Detail"],
          events.map((e) => [when(e.at), e.action, String(e.count), e.actor ?? "—", e.user ?? "—", e.token_id ?? "—", e.ip ?? "—", e.detail ?? ""]),
          "No events.",
        ),
      );
      replace(
        pager,
        pages.length > 1 && h("button", { type: "button", onclick: () => (pages.pop(), void load()) }, "Newer"),
        events.length === PAGE && h("button", { type: "button", onclick: () => (pages.push(events.at(-1)!.id), void load()) }, "Older"),
      );
    }

    replace(root, h("h2", {}, "Audit log"), filter, list, pager);
    await load();
  },
};
