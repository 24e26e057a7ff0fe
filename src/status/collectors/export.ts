/**
 * `ferry export`'s status and metrics: rows read from Cassandra and acknowledged by Kafka (one set
 * of counters: /metrics and the page), token ranges done / total / being read, the checkpoint.
 */
import { Counter, Gauge, Registry } from "../../http/metrics.ts";
import type { StatusCollector } from "../status.ts";
import type { ExportStatus } from "../types.ts";

export interface ExportProgress {
  source: string;
  topic: string;
  total: number;
  /** Ranges done (the checkpoint's at start, then each finished one). */
  done: number;
  inFlight: number;
  checkpoint: { file: string; doneAtStart: number; savedAt: number | undefined } | undefined;
  state: ExportStatus["state"];
}

export function exportMetrics(progress: ExportProgress) {
  const registry = new Registry();
  return {
    registry,
    rowsRead: registry.add(new Counter("ferry_export_rows_read_total", "Rows read from Cassandra.")),
    rowsSent: registry.add(new Counter("ferry_export_rows_total", "Rows acknowledged by Kafka.")),
    rangesDone: registry.add(new Gauge("ferry_export_ranges_done", "Token ranges finished (with the checkpoint's).", () => progress.done)),
    rangesTotal: registry.add(new Gauge("ferry_export_ranges", "Token ranges of the export.", () => progress.total)),
  };
}
export type ExportMetrics = ReturnType<typeof exportMetrics>;

export function exportCollector(metrics: ExportMetrics, progress: ExportProgress): StatusCollector<"export"> {
  return {
    mode: "export",
    totals: () => ({ in: metrics.rowsRead.total(), out: metrics.rowsSent.total(), rejected: 0 }),
    section: () => ({
      source: progress.source,
      topic: progress.topic,
      ranges: { done: progress.done, total: progress.total, in_flight: progress.inFlight },
      rows: metrics.rowsSent.total(),
      checkpoint: progress.checkpoint
        ? { file: progress.checkpoint.file, done_at_start: progress.checkpoint.doneAtStart, saved_at: progress.checkpoint.savedAt === undefined ? null : new Date(progress.checkpoint.savedAt).toISOString() }
        : null,
      state: progress.state,
    }),
  };
}
