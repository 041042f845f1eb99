import { count, eq } from "drizzle-orm";
import { Elysia, t } from "elysia";
import type { Db } from "../../db/client";
import { devices, tokens, users } from "../../db/schema";
import type { authentication } from "../../http/auth";
import { withFailures } from "../../http/errors";
import { liveAt } from "../tokens/liveness";
import type { Gauge, Metrics } from "./registry";

/** Counts that describe the store now, read at scrape time. */
function gauges(db: Db): Gauge[] {
  const now = new Date();
  const value = (rows: { n: number }[]) => rows[0]?.n ?? 0;
  return [
    {
      name: "keyward_tokens_active",
      help: "Tokens that authenticate now, by source.",
      samples: db
        .select({ source: tokens.source, n: count() })
        .from(tokens)
        .where(liveAt(now))
        .groupBy(tokens.source)
        .all()
        .map((r) => [{ source: r.source }, r.n]),
    },
    { name: "keyward_users", help: "User accounts.", samples: [[{}, value(db.select({ n: count() }).from(users).all())]] },
    { name: "keyward_users_disabled", help: "Disabled user accounts.", samples: [[{}, value(db.select({ n: count() }).from(users).where(eq(users.disabled, true)).all())]] },
    {
      name: "keyward_devices",
      help: "Devices by status.",
      samples: db
        .select({ status: devices.status, n: count() })
        .from(devices)
        .groupBy(devices.status)
        .all()
        .map((r) => [{ status: r.status }, r.n]),
    },
  ];
}

export const metricsRoutes = ({ db, auth, metrics, isPublic }: { db: Db; auth: ReturnType<typeof authentication>; metrics: Metrics; isPublic: boolean }) => {
  const scrape = ({ set }: { set: { headers: Record<string, string | number> } }) => {
    set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
    return metrics.render(gauges(db));
  };
  const detail = {
    summary: "Prometheus metrics",
    description: "Requests by route and status, a latency histogram, authentication outcomes, token/user/device gauges and process memory. Needs an admin token unless KEYWARD_METRICS_PUBLIC=true.",
    tags: ["System"],
  };
  const plugin = new Elysia({ name: "keyward/metrics" }).use(auth);
  return isPublic
    ? plugin.get("/metrics", scrape, { response: withFailures({ 200: t.String() }), detail: { ...detail, security: [] } })
    : plugin.get("/metrics", scrape, { auth: "admin", response: withFailures({ 200: t.String() }, "credential"), detail });
};
