import { count, eq } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { tablesOf, type Db } from "../../db/client";
import { presented, presentedToken, refuse } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { withFailures } from "../../http/errors";
import { ADMIN_ROLE } from "../../lib/names";
import type { AuthCore } from "../auth/service";
import { liveAt } from "../tokens/liveness";
import type { Gauge, Metrics } from "./registry";

/** Counts that describe the store now, read at scrape time. */
async function gauges(db: Db): Promise<Gauge[]> {
  const { devices, tokens, users } = tablesOf(db);
  const now = new Date();
  const value = (rows: { n: number }[]) => rows[0]?.n ?? 0;
  const [active, accounts, disabled, byStatus] = await Promise.all([
    db.select({ source: tokens.source, n: count() }).from(tokens).where(liveAt(now, tokens)).groupBy(tokens.source),
    db.select({ n: count() }).from(users),
    db.select({ n: count() }).from(users).where(eq(users.disabled, true)),
    db.select({ status: devices.status, n: count() }).from(devices).groupBy(devices.status),
  ]);
  return [
    { name: "keyward_tokens_active", help: "Tokens that authenticate now, by source.", samples: active.map((r) => [{ source: r.source }, r.n]) },
    { name: "keyward_users", help: "User accounts.", samples: [[{}, value(accounts)]] },
    { name: "keyward_users_disabled", help: "Disabled user accounts.", samples: [[{}, value(disabled)]] },
    { name: "keyward_devices", help: "Devices by status.", samples: byStatus.map((r) => [{ status: r.status }, r.n]) },
  ];
}

export interface MetricsDeps {
  db: Db;
  core: AuthCore;
  addressOf: AddressOf;
  allowQueryToken: boolean;
  metrics: Metrics;
  /** KEYWARD_METRICS_PUBLIC: no token needed. */
  isPublic: boolean;
  /** Besides admin, the role a scraper's token has (KEYWARD_METRICS_ROLE). */
  role: string;
}

export const metricsRoutes = ({ db, core, addressOf, allowQueryToken, metrics, isPublic, role }: MetricsDeps) => {
  const scrape = async ({ set }: { set: { headers: Record<string, string | number> } }) => {
    set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
    return metrics.render(await gauges(db));
  };
  const detail = {
    summary: "Prometheus metrics",
    description: `Requests by route and status, a latency histogram, authentication outcomes, token/user/device gauges and process memory. Needs an admin token or one with the role KEYWARD_METRICS_ROLE (default metrics), unless KEYWARD_METRICS_PUBLIC=true.`,
    tags: ["System"],
  };
  const plugin = new Elysia({ name: "keyward/metrics" });
  if (isPublic) return plugin.get("/metrics", scrape, { response: withFailures({ 200: t.String() }), detail: { ...detail, security: [] } });
  // The auth macro knows only "admin": a second role is asked of the core directly.
  const need = [ADMIN_ROLE, role];
  return plugin.get(
    "/metrics",
    async ({ request, set, status }) => {
      const caller = await core.token(presented(request, addressOf, presentedToken(request, allowQueryToken), need));
      return caller.ok ? scrape({ set }) : refuse({ set, status }, caller);
    },
    {
      response: withFailures({ 200: t.String() }, "credential"),
      detail: { ...detail, security: [{ bearer: [] }, ...(allowQueryToken ? [{ queryToken: [] }] : [])] },
    },
  );
};
