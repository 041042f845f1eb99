import { describe } from "bun:test";
import { ADMIN_TOKEN, client } from "../../helpers/api";
import { scenarios, type App } from "../../helpers/scenario";

/** Issues a token of each role as the admin; the scenario presents one of them. */
const roles =
  (...names: string[]) =>
  async (app: App) => {
    const made: Record<string, string> = {};
    for (const role of names) made[role] = (await client(app).post("/api/v1/tokens", { user: `${role}-bot`, role })).body.token;
    return made;
  };

describe("who may scrape GET /metrics", () => {
  scenarios([
    { name: "the admin", url: "/metrics", status: 200, contains: ["# TYPE keyward_http_requests_total counter"] },
    { name: "a token of the metrics role", url: "/metrics", before: roles("metrics"), token: (t) => t.metrics!, status: 200, contains: ["keyward_users 0"] },
    { name: "no token: 401", url: "/metrics", token: "", status: 401, contains: ["invalid_token"] },
    { name: "another role: 403", url: "/metrics", before: roles("resource-server"), token: (t) => t["resource-server"]!, status: 403, contains: ["insufficient_role", "admin or metrics"] },
    { name: "a metrics token reads nothing admin-only: tokens", url: "/api/v1/tokens", before: roles("metrics"), token: (t) => t.metrics!, status: 403 },
    { name: "a metrics token reads nothing admin-only: audit", url: "/api/v1/audit", before: roles("metrics"), token: (t) => t.metrics!, status: 403 },
    {
      name: "KEYWARD_METRICS_ROLE names another role",
      url: "/metrics",
      env: { KEYWARD_METRICS_ROLE: "Scraper" },
      before: roles("scraper"),
      token: (t) => t.scraper!,
      status: 200,
    },
    {
      name: "which then replaces the default one",
      url: "/metrics",
      env: { KEYWARD_METRICS_ROLE: "scraper" },
      before: roles("metrics"),
      token: (t) => t.metrics!,
      status: 403,
      contains: ["admin or scraper"],
    },
    { name: "KEYWARD_METRICS_PUBLIC=true needs no token", url: "/metrics", env: { KEYWARD_METRICS_PUBLIC: "true" }, token: "", status: 200 },
    { name: "the admin token still works with a custom role", url: "/metrics", env: { KEYWARD_METRICS_ROLE: "scraper" }, token: ADMIN_TOKEN, status: 200 },
  ]);
});
