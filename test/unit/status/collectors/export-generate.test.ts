/** export's and generate's status: one set of counters for /metrics and the page. */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { exportCollector, exportMetrics, type ExportProgress } from "../../../../src/status/collectors/export.ts";
import { generateCollector, generateMetrics, type GenerateProgress } from "../../../../src/status/collectors/generate.ts";
import { Dependencies } from "../../../../src/status/dependencies.ts";
import { createStatus, type StatusCollector } from "../../../../src/status/status.ts";
import { StatusSnapshotSchema } from "../../../../src/status/types.ts";

const valid = (collector: StatusCollector) => {
  const status = createStatus({ version: "t", config: {}, collector, dependencies: new Dependencies() });
  const snap = status.snapshot();
  status.close();
  expect(v.safeParse(StatusSnapshotSchema, snap).issues ?? []).toEqual([]);
  return snap;
};

describe("export status", () => {
  test("rows read and acknowledged, ranges, the checkpoint; /metrics shows the same", () => {
    const progress: ExportProgress = { source: "ks.t", topic: "out", total: 8, done: 3, inFlight: 2, checkpoint: { file: "ck", doneAtStart: 3, savedAt: undefined }, state: "running" };
    const m = exportMetrics(progress);
    m.rowsRead.inc({}, 500);
    m.rowsSent.inc({}, 400);
    const c = exportCollector(m, progress);
    expect(c.totals()).toEqual({ in: 500, out: 400, rejected: 0 });
    expect(c.section()).toEqual({ source: "ks.t", topic: "out", ranges: { done: 3, total: 8, in_flight: 2 }, rows: 400, checkpoint: { file: "ck", done_at_start: 3, saved_at: null }, state: "running" });
    progress.done = 4;
    progress.checkpoint!.savedAt = Date.UTC(2026, 0, 1);
    expect(c.section().checkpoint).toEqual({ file: "ck", done_at_start: 3, saved_at: "2026-01-01T00:00:00.000Z" });
    const text = m.registry.render();
    expect(text).toContain("ferry_export_rows_total 400");
    expect(text).toContain("ferry_export_rows_read_total 500");
    expect(text).toContain("ferry_export_ranges_done 4");
    expect(valid(c).export!.ranges.done).toBe(4);
  });
});

describe("generate status", () => {
  test("sent, accepted, refused, in flight, limits", () => {
    const progress: GenerateProgress = { target: "kafka topic x", inFlight: 100, rateLimit: 50, countLimit: undefined, state: "running" };
    const m = generateMetrics(progress);
    m.records.inc({ result: "sent" }, 1000);
    m.records.inc({ result: "accepted" }, 880);
    m.records.inc({ result: "refused" }, 20);
    const c = generateCollector(m, progress);
    expect(c.totals()).toEqual({ in: 1000, out: 880, rejected: 20 });
    expect(c.section()).toEqual({ target: "kafka topic x", sent: 1000, accepted: 880, refused: 20, in_flight: 100, rate_limit: 50, count_limit: null, state: "running" });
    expect(m.registry.render()).toContain('ferry_generate_records_total{result="accepted"} 880');
    expect(valid(c).mode).toBe("generate");
  });
});
