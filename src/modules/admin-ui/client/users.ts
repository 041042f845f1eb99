/// <reference lib="dom" />
import { api } from "./api";
import { acting, fields, h, replace, when } from "./dom";
import { pagedTable } from "./list";
import type { UserRecord } from "../../users/model";
import type { View } from "./main";
import { withScopes, scopeList } from "./tokens";

export const usersView: View = {
  title: "Users",
  async render(root, notify) {
    const list = h("div");
    const act = acting(notify, () => load());
    const add = h(
      "form",
      {
        class: "row",
        onsubmit: (e) => {
          e.preventDefault();
          const form = e.target as HTMLFormElement;
          void act(async () => {
            await api("POST", "/api/v1/users", fields(form));
            form.reset();
          });
        },
      },
      h("input", { name: "username", placeholder: "user name", required: true, "aria-label": "User name" }),
      h("input", { name: "password", type: "password", placeholder: "password (8+)", required: true, autocomplete: "new-password", "aria-label": "Password" }),
      h("input", { name: "role", placeholder: "role (user)", "aria-label": "Role" }),
      h("button", { type: "submit" }, "Add user"),
    );

    async function load() {
      const path = (u: UserRecord) => `/api/v1/users/${encodeURIComponent(u.username)}`;
      await pagedTable<UserRecord>(list, {
        path: "/api/v1/users",
        columns: ["User", "Role / scopes", "Status", "Created", ""],
        notify,
        empty: "No users yet.",
        row: (u) => [
          u.username,
          withScopes(u.role, u.scopes),
          h("span", { class: `status ${u.disabled ? "revoked" : "active"}` }, u.disabled ? "disabled" : "enabled"),
          when(u.created_at),
          h(
            "span",
            { class: "actions" },
            h(
              "button",
              { type: "button", onclick: () => confirm(`${u.disabled ? "Enable" : "Disable"} ${u.username}?`) && act(() => api("PATCH", path(u), { disabled: !u.disabled })) },
              u.disabled ? "Enable" : "Disable",
            ),
            h(
              "button",
              {
                type: "button",
                onclick: () => {
                  const password = prompt(`New password for ${u.username} (8 characters or more). Their login sessions end.`);
                  if (password) void act(() => api("PATCH", path(u), { password }));
                },
              },
              "Reset password",
            ),
            h(
              "button",
              {
                type: "button",
                onclick: () => {
                  const scopes = prompt(`Scopes ${u.username}'s browser sessions carry, space-separated (empty: none). Open sessions carry them at once.`, u.scopes.join(" "));
                  if (scopes !== null) void act(() => api("PATCH", path(u), { scopes: scopeList(scopes) }));
                },
              },
              "Scopes",
            ),
          ),
        ],
      });
    }

    replace(root, h("h2", {}, "Add a user"), add, h("h2", {}, "Users"), list);
    await load();
  },
};
