/// <reference lib="dom" />
import { api } from "./api";
import { acting, fields, h, replace, when } from "./dom";
import { pagedTable } from "./list";
import { showUsage } from "./token-usage";
import type { TokenRecord } from "../../tokens/model";
import type { View } from "./main";

/** Scopes as typed: space-separated, as OAuth writes them (a scope holds no space). */
export const scopeList = (text: string) => text.split(/\s+/).filter(Boolean);

/** A cell's text with the scopes under it: no column of their own, as the tables already fill a desktop. */
export const withScopes = (text: string | HTMLElement, scopes: readonly string[]) =>
  scopes.length === 0 ? text : h("span", {}, text, h("br"), h("code", { class: "scopes", title: "scopes" }, scopes.join(" ")));

/** Shows a new secret once, with a copy button and the warning that it will not be shown again. */
function secretBox(token: string, user: string): HTMLElement {
  const copied = h("span", { class: "copied", "data-testid": "copied" });
  return h(
    "div",
    { class: "secret", role: "alert" },
    h("p", {}, h("strong", {}, `New token for ${user}. Copy it now: it will not be shown again.`)),
    h("code", { "data-testid": "new-token" }, token),
    h(
      "button",
      {
        type: "button",
        onclick: async () => {
          await navigator.clipboard.writeText(token);
          copied.textContent = "Copied";
        },
      },
      "Copy",
    ),
    copied,
  );
}

/** `N/PERIOD` as typed in the form ("100/1m"); the server checks the numbers and the period. */
function countPer(label: string, text: string): [number, string] {
  const match = /^(\d{1,10})\s*\/\s*(\S{1,16})$/.exec(text);
  if (!match) throw new Error(`${label}: write N/PERIOD, like 100/1m`);
  return [Number(match[1]), match[2]!];
}

/** The create form's fields as the API takes them: limits typed as text become their objects. */
function withLimits({ rate_limit, remaining_uses, refill, ...rest }: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...rest };
  if (rate_limit !== undefined) {
    const [requests, per] = countPer("Rate limit", rate_limit);
    body.rate_limit = { requests, per };
  }
  if (remaining_uses !== undefined) body.remaining_uses = /^\d{1,10}$/.test(remaining_uses) ? Number(remaining_uses) : remaining_uses;
  if (refill !== undefined) {
    const [uses, every] = countPer("Refill", refill);
    body.refill = { uses, every };
  }
  return body;
}

/** A token's limits in a few words: "100/1m, 5 left (1000/1d)", or null for none. */
function limitsOf({ rate_limit, remaining_uses, refill }: TokenRecord): string | null {
  const parts = [];
  if (rate_limit !== null) parts.push(`${rate_limit.requests}/${rate_limit.per}`);
  if (remaining_uses !== null) parts.push(refill === null ? `${remaining_uses} left` : `${remaining_uses} left (${refill.uses}/${refill.every})`);
  return parts.length === 0 ? null : parts.join(", ");
}

export const tokensView: View = {
  title: "Tokens",
  async render(root, notify) {
    const list = h("div");
    const revealed = h("div");
    const usage = h("div");
    const filter = h(
      "form",
      { class: "row", onsubmit: (e) => (e.preventDefault(), void load()) },
      h("input", { name: "user", placeholder: "user", "aria-label": "Filter by user" }),
      h("select", { name: "active", "aria-label": "Filter by status" }, h("option", { value: "" }, "any status"), h("option", { value: "true" }, "working"), h("option", { value: "false" }, "not working")),
      h("button", { type: "submit" }, "Filter"),
    );
    const create = h(
      "form",
      {
        class: "row",
        onsubmit: async (e) => {
          e.preventDefault();
          const form = e.target as HTMLFormElement;
          const { scopes, ...input } = fields(form);
          try {
            const created = await api<{ token: string; user: string }>("POST", "/api/v1/tokens", { ...withLimits(input), ...(scopes ? { scopes: scopeList(scopes) } : {}) });
            replace(revealed, secretBox(created.token, created.user));
            form.reset();
            await load();
          } catch (error) {
            notify((error as Error).message);
          }
        },
      },
      h("input", { name: "user", placeholder: "user", required: true, "aria-label": "User" }),
      h("input", { name: "name", placeholder: "name (optional)", "aria-label": "Name" }),
      h("input", { name: "role", placeholder: "role (user)", "aria-label": "Role" }),
      h("input", { name: "expires_in", placeholder: "expires in (90d, never)", "aria-label": "Expires in" }),
      h("input", { name: "scopes", placeholder: "scopes (space-separated)", "aria-label": "Scopes" }),
      h("input", { name: "rate_limit", placeholder: "rate limit (100/1m)", "aria-label": "Rate limit" }),
      h("input", { name: "remaining_uses", placeholder: "uses (unlimited)", inputmode: "numeric", "aria-label": "Uses" }),
      h("input", { name: "refill", placeholder: "refill (1000/1d)", "aria-label": "Refill" }),
      h("button", { type: "submit" }, "Create token"),
    );

    const act = acting(notify, () => load());

    async function load() {
      await pagedTable<TokenRecord>(list, {
        path: "/api/v1/tokens",
        query: fields(filter),
        columns: ["User", "Name / scopes", "Role", "Hint", "Created", "Expires", "Last used", "Last IP", "Requests", "Status", ""],
        notify,
        empty: "No tokens match.",
        row: (t) => [
          t.user,
          // Under the name rather than columns of their own: the table is as wide as a desktop allows.
          withScopes(limitsOf(t) === null ? (t.name ?? "—") : h("span", {}, t.name ?? "—", h("br"), h("small", { "data-testid": "limits" }, limitsOf(t)!)), t.scopes),
          t.role,
          h("code", { class: "hint" }, t.hint),
          when(t.created_at),
          when(t.expires_at),
          when(t.last_used_at),
          t.last_ip ?? "—",
          t.request_count,
          h("span", { class: `status ${t.status}` }, t.status),
          h(
            "span",
            { class: "actions" },
            h("button", { type: "button", onclick: () => void showUsage(usage, t.id, notify) }, "Usage"),
            ...(t.source === "env" || t.status === "revoked" || t.status === "expired"
              ? []
              : [
                h("button", { type: "button", onclick: () => confirm(`Revoke ${t.user}'s token ${t.hint}?`) && act(() => api("DELETE", `/api/v1/tokens/${t.id}`)) }, "Revoke"),
                h(
                  "button",
                  {
                    type: "button",
                    onclick: () => {
                      const grace = prompt(`Rotate ${t.user}'s token ${t.hint}? The old one keeps working for (e.g. 0s, 24h):`, "0s");
                      if (grace !== null) {
                        void act(async () => {
                          const next = await api<{ token: string; user: string }>("POST", `/api/v1/tokens/${t.id}/rotate`, { grace });
                          replace(revealed, secretBox(next.token, next.user));
                        });
                      }
                    },
                  },
                  "Rotate",
                ),
              ]),
          ),
        ],
      });
    }

    replace(root, h("h2", {}, "New token"), create, revealed, h("h2", {}, "Tokens"), filter, usage, list);
    await load();
  },
};
