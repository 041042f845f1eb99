import type { Reason } from "../auth/model";
import type { Principal } from "../tokens/verifier";
import type { Tally, TallyReceiver } from "../usage/tallies";

/**
 * An authentication's labels: a success by the kind of credential, a failure by its reason. Both
 * closed lists, so the metric's series stay few whatever strangers send.
 */
export type AuthenticationOutcome = ["success", Principal["source"]] | ["failure", Reason];

/** Upper bounds of the latency histogram, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Methods counted by name; any other a client invents is counted as OTHER, so series stay few. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** One route's requests: counts by method and status, and a latency histogram (per bucket, not yet cumulative). */
interface RouteStats {
  byMethod: Map<string, Map<number, number>>;
  buckets: number[];
  sum: number;
  count: number;
}

/** Where outcomes are also counted over time (the usage series): the same outcomes as these totals. */
export interface OutcomesOverTime {
  outcome(outcome: AuthenticationOutcome[0], reason: AuthenticationOutcome[1], at?: number): void;
}

export interface Gauge {
  name: string;
  help: string;
  samples: [labels: Record<string, string>, value: number][];
}

const labelText = (labels: Record<string, string>) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

const increment = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

/**
 * Request counts, a latency histogram and authentication outcomes, kept in memory and written in
 * Prometheus' text format. Label values are route templates and fixed words, never user input, so
 * the number of series stays small. Counting runs on every request: it looks up keys it already
 * has and allocates nothing once a series exists.
 */
export class Metrics implements TallyReceiver {
  private readonly routes = new Map<string, RouteStats>();
  private readonly successes = new Map<Principal["source"], number>();
  private readonly failures = new Map<Reason, number>();
  private readonly started = Date.now();

  constructor(
    private readonly overTime?: OutcomesOverTime,
    /** Hands on the token uses still counted in place (usage/tallies.ts): called before the totals are read. */
    private readonly settle: () => void = () => undefined,
  ) {}

  request(route: string, method: string, status: number, seconds: number): void {
    let stats = this.routes.get(route);
    if (!stats) this.routes.set(route, (stats = { byMethod: new Map(), buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const name = METHODS.has(method) ? method : "OTHER";
    let byStatus = stats.byMethod.get(name);
    if (!byStatus) stats.byMethod.set(name, (byStatus = new Map()));
    increment(byStatus, status);
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > BUCKETS[bucket]!) bucket++;
    if (bucket < BUCKETS.length) stats.buckets[bucket]!++;
    stats.sum += seconds;
    stats.count++;
  }

  // Overloads rather than a rest tuple: this runs on every request, and a rest parameter allocates.
  // `at`, when the caller read the clock already (the hot path reads it once per decision).
  authentication(outcome: "success", reason: Principal["source"], at?: number): void;
  authentication(outcome: "failure", reason: Reason, at?: number): void;
  authentication(outcome: AuthenticationOutcome[0], reason: AuthenticationOutcome[1], at?: number): void {
    if (outcome === "success") increment(this.successes, reason as Principal["source"]);
    else increment(this.failures, reason as Reason);
    this.overTime?.outcome(outcome, reason, at);
  }

  /** A token's tallied successes (the series takes them from the tally itself). */
  received({ source, count }: Readonly<Tally>): void {
    this.successes.set(source, (this.successes.get(source) ?? 0) + count);
  }

  render(gauges: Gauge[]): string {
    this.settle();
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("keyward_http_requests_total", "counter", "HTTP requests by route template, method and status.");
    for (const [route, { byMethod }] of this.routes) {
      for (const [method, byStatus] of byMethod) {
        for (const [status, value] of byStatus) out.push(`keyward_http_requests_total${labelText({ method, route, status: String(status) })} ${value}`);
      }
    }
    family("keyward_http_request_duration_seconds", "histogram", "Time to answer a request, by route template.");
    for (const [route, h] of this.routes) {
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += h.buckets[i]!;
        out.push(`keyward_http_request_duration_seconds_bucket${labelText({ route, le: String(le) })} ${cumulative}`);
      });
      out.push(`keyward_http_request_duration_seconds_bucket${labelText({ route, le: "+Inf" })} ${h.count}`);
      out.push(`keyward_http_request_duration_seconds_sum${labelText({ route })} ${h.sum}`);
      out.push(`keyward_http_request_duration_seconds_count${labelText({ route })} ${h.count}`);
    }
    family("keyward_authentications_total", "counter", "Token checks by outcome and reason.");
    for (const [reason, value] of this.successes) out.push(`keyward_authentications_total${labelText({ outcome: "success", reason })} ${value}`);
    for (const [reason, value] of this.failures) out.push(`keyward_authentications_total${labelText({ outcome: "failure", reason })} ${value}`);
    for (const gauge of gauges) {
      family(gauge.name, "gauge", gauge.help);
      for (const [labels, value] of gauge.samples) out.push(`${gauge.name}${labelText(labels)} ${value}`);
    }
    const memory = process.memoryUsage();
    family("process_resident_memory_bytes", "gauge", "Resident memory of the process.");
    out.push(`process_resident_memory_bytes ${memory.rss}`);
    family("process_heap_bytes", "gauge", "JavaScript heap in use.");
    out.push(`process_heap_bytes ${memory.heapUsed}`);
    family("process_start_time_seconds", "gauge", "When the process started, in seconds since the epoch.");
    out.push(`process_start_time_seconds ${Math.floor(this.started / 1000)}`);
    return `${out.join("\n")}\n`;
  }
}
