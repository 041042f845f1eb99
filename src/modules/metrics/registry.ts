import type { Reason } from "../auth/model";
import type { Principal } from "../tokens/verifier";

/**
 * An authentication's labels: a success by the kind of credential, a failure by its reason. Both
 * closed lists, so the metric's series stay few whatever strangers send.
 */
export type AuthenticationOutcome = ["success", Principal["source"]] | ["failure", Reason];

/** Upper bounds of the latency histogram, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
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

/**
 * Request counts, a latency histogram and authentication outcomes, kept in memory and written in
 * Prometheus' text format. Label values are route templates and fixed words, never user input, so
 * the number of series stays small.
 */
export class Metrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly latency = new Map<string, Histogram>();
  private readonly auth = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly started = Date.now();

  request(route: string, method: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    const entry = this.requests.get(key);
    if (entry) entry.value++;
    else this.requests.set(key, { labels: { method, route, status: String(status) }, value: 1 });
    let histogram = this.latency.get(route);
    if (!histogram) this.latency.set(route, (histogram = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) histogram.counts[i]!++;
    histogram.sum += seconds;
    histogram.count++;
  }

  // Overloads rather than a rest tuple: this runs on every request, and a rest parameter allocates.
  authentication(outcome: "success", reason: Principal["source"]): void;
  authentication(outcome: "failure", reason: Reason): void;
  authentication(outcome: AuthenticationOutcome[0], reason: AuthenticationOutcome[1]): void {
    const key = `${outcome} ${reason}`;
    const entry = this.auth.get(key);
    if (entry) entry.value++;
    else this.auth.set(key, { labels: { outcome, reason }, value: 1 });
  }

  render(gauges: Gauge[]): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("keyward_http_requests_total", "counter", "HTTP requests by route template, method and status.");
    for (const { labels, value } of this.requests.values()) out.push(`keyward_http_requests_total${labelText(labels)} ${value}`);
    family("keyward_http_request_duration_seconds", "histogram", "Time to answer a request, by route template.");
    for (const [route, h] of this.latency) {
      BUCKETS.forEach((le, i) => out.push(`keyward_http_request_duration_seconds_bucket${labelText({ route, le: String(le) })} ${h.counts[i]}`));
      out.push(`keyward_http_request_duration_seconds_bucket${labelText({ route, le: "+Inf" })} ${h.count}`);
      out.push(`keyward_http_request_duration_seconds_sum${labelText({ route })} ${h.sum}`);
      out.push(`keyward_http_request_duration_seconds_count${labelText({ route })} ${h.count}`);
    }
    family("keyward_authentications_total", "counter", "Token checks by outcome and reason.");
    for (const { labels, value } of this.auth.values()) out.push(`keyward_authentications_total${labelText(labels)} ${value}`);
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
