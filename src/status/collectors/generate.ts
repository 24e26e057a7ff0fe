/** `ferry generate`'s status and metrics: records made, acknowledged and refused by the target (one set of counters: /metrics and the page). */
import { Counter, Gauge, Registry } from "../../http/metrics.ts";
import type { StatusCollector } from "../status.ts";
import type { GenerateStatus } from "../types.ts";

export interface GenerateProgress {
  target: string;
  inFlight: number;
  rateLimit: number | undefined;
  countLimit: number | undefined;
  state: GenerateStatus["state"];
}

export function generateMetrics(progress: GenerateProgress) {
  const registry = new Registry();
  return {
    registry,
    records: registry.add(new Counter("ferry_generate_records_total", "Records by what became of them: sent (handed to the target), accepted, refused.")),
    inFlight: registry.add(new Gauge("ferry_generate_records_in_flight", "Records sent and not answered yet.", () => progress.inFlight)),
  };
}
export type GenerateMetrics = ReturnType<typeof generateMetrics>;

export function generateCollector(metrics: GenerateMetrics, progress: GenerateProgress): StatusCollector<"generate"> {
  const n = (result: string) => metrics.records.get({ result });
  return {
    mode: "generate",
    totals: () => ({ in: n("sent"), out: n("accepted"), rejected: n("refused") }),
    section: () => ({
      target: progress.target,
      sent: n("sent"),
      accepted: n("accepted"),
      refused: n("refused"),
      in_flight: progress.inFlight,
      rate_limit: progress.rateLimit ?? null,
      count_limit: progress.countLimit ?? null,
      state: progress.state,
    }),
  };
}
