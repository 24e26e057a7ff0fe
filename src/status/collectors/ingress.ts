/** The HTTP ingress's part of the status (run and serve), read from the ingress's own metrics (what /metrics shows). */
import type { IngressMetrics } from "../../http/metrics.ts";
import type { IngressStatus, StatusSnapshot } from "../types.ts";
import type { Refusals } from "./refusals.ts";

export interface IngressView {
  metrics: IngressMetrics;
  refusals: Refusals;
  inFlight(): number;
  draining(): boolean;
}

/** Records received (acknowledged or refused), acknowledged, and refused. */
export function ingressTotals(ingress: IngressView): StatusSnapshot["totals"] {
  const out = ingress.metrics.accepted.total();
  const rejected = ingress.metrics.rejected.total();
  return { in: out + rejected, out, rejected };
}

export function ingressStatus(ingress: IngressView, maxInFlight: number, queued: () => number | undefined): IngressStatus {
  const requests: IngressStatus["requests"] = [];
  for (const [labels, count] of ingress.metrics.requests.entries()) {
    if (labels.route === "/orders") requests.push({ status: Number(labels.status), count });
  }
  requests.sort((a, b) => b.count - a.count || a.status - b.status);
  const p50 = ingress.metrics.writeLatency.quantile(0.5);
  const p99 = ingress.metrics.writeLatency.quantile(0.99);
  return {
    requests,
    refusals: ingress.refusals.list(),
    in_flight: ingress.inFlight(),
    max_in_flight: maxInFlight,
    queued: queued() ?? null,
    draining: ingress.draining(),
    write_latency_ms: p50 === undefined || p99 === undefined ? null : { p50: p50 * 1000, p99: p99 * 1000 },
  };
}
