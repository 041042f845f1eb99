/// <reference lib="dom" />
import { api } from "./api";
import { acting, h, replace, when } from "./dom";
import { pagedTable } from "./list";
import type { DeviceRecord } from "../../devices/model";
import type { View } from "./main";

export const devicesView: View = {
  title: "Devices",
  async render(root, notify) {
    const list = h("div");
    const act = acting(notify, () => load());

    async function load() {
      await pagedTable<DeviceRecord>(list, {
        path: "/api/v1/devices",
        columns: ["Device", "Label", "Status", "Key", "Fingerprint", "First seen", "Last seen", ""],
        notify,
        empty: "No devices have enrolled.",
        row: (d) => [
          h("code", { class: "id" }, d.id),
          d.label ?? "—",
          h("span", { class: `status ${d.status}` }, d.status),
          // Its tokens pass only with a DPoP proof by this key; the thumbprint whole is in the title.
          d.key_thumbprint === null ? "—" : h("code", { class: "key", title: `Key thumbprint ${d.key_thumbprint}` }, `${d.key_thumbprint.slice(0, 10)}…`),
          h("code", { class: "fingerprint" }, d.fingerprint),
          when(d.first_seen),
          when(d.last_seen),
          h(
            "span",
            { class: "actions" },
            d.status === "pending" && h("button", { type: "button", onclick: () => confirm(`Approve ${d.id}?`) && act(() => api("POST", `/api/v1/devices/${d.id}/approve`)) }, "Approve"),
            d.status !== "revoked" &&
              h(
                "button",
                {
                  type: "button",
                  onclick: () => confirm(`Reset ${d.id}? Its tokens stop working, its key is unbound, and it may enroll again (under approval, it waits for approval again).`) && act(() => api("POST", `/api/v1/devices/${d.id}/reset`)),
                },
                "Reset",
              ),
            d.status !== "revoked" && h("button", { type: "button", onclick: () => confirm(`Revoke ${d.id}? All its tokens stop working.`) && act(() => api("POST", `/api/v1/devices/${d.id}/revoke`)) }, "Revoke"),
            h(
              "button",
              {
                type: "button",
                onclick: () => {
                  const label = prompt(`Label for ${d.id}:`, d.label ?? "");
                  if (label !== null) void act(() => api("PATCH", `/api/v1/devices/${d.id}`, { label }));
                },
              },
              "Label",
            ),
          ),
        ],
      });
    }

    replace(root, h("h2", {}, "Devices"), list);
    await load();
  },
};
