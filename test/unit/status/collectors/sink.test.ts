/** The sink's status: from its counters and gauges (as /metrics), the source's positions, and the batches it tells. */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { Counter, Gauge } from "../../../../src/http/metrics.ts";
import { tpKey } from "../../../../src/pipeline/partitions.ts";
import { SinkEvents, sinkCollector } from "../../../../src/status/collectors/sink.ts";
import { Dependencies } from "../../../../src/status/dependencies.ts";
import { createStatus } from "../../../../src/status/status.ts";
import { StatusSnapshotSchema } from "../../../../src/status/types.ts";

function sink() {
  const positions = new Map<string, { tp: { topic: string; partition: number }; next: number | undefined }>();
  const highs = new Map<string, number>();
  const lag = () => [...positions].flatMap(([k, { tp, next }]) => (highs.has(k) ? [[{ topic: tp.topic, partition: tp.partition }, highs.get(k)! - (next ?? 0)] as [Record<string, string | number>, number]] : []));
  let snapshot = 0;
  const metrics = {
    recordsIn: new Counter("in", ""),
    recordsOut: new Counter("out", ""),
    lag: new Gauge("lag", "", lag),
    snapshot: new Gauge("snap", "", () => snapshot),
  };
  let now = Date.UTC(2026, 0, 1);
  const events = new SinkEvents(() => now);
  const collector = sinkCollector({ group: "g", topics: ["t"], metrics, positions: () => positions, highWatermarks: () => highs }, events);
  return { positions, highs, metrics, events, collector, setSnapshot: (n: number) => (snapshot = n), tick: () => (now += 1000) };
}

describe("sink status", () => {
  test("lag per partition beside its next offset and end, sorted; unknown ends are null", () => {
    const s = sink();
    s.positions.set(tpKey("t", 2), { tp: { topic: "t", partition: 2 }, next: 10 });
    s.positions.set(tpKey("t", 0), { tp: { topic: "t", partition: 0 }, next: undefined });
    s.positions.set(tpKey("t", 1), { tp: { topic: "t", partition: 1 }, next: 5 });
    s.highs.set(tpKey("t", 2), 25);
    s.highs.set(tpKey("t", 0), 3);
    expect(s.collector.section().lag).toEqual([
      { topic: "t", partition: 0, next_offset: null, high_watermark: 3, lag: 3 },
      { topic: "t", partition: 1, next_offset: 5, high_watermark: null, lag: null },
      { topic: "t", partition: 2, next_offset: 10, high_watermark: 25, lag: 15 },
    ]);
    expect(s.collector.section().snapshot).toBeNull();
    s.setSnapshot(42);
    expect(s.collector.section().snapshot).toBe(42);
  });

  test("totals and dead letters from the counters; the last 10 batches and dead letters, newest first", () => {
    const s = sink();
    for (let seq = 1; seq <= 12; seq++) {
      s.tick();
      s.metrics.recordsIn.inc({ topic: "t", partition: 0 }, 300);
      s.metrics.recordsOut.inc({ to: "lake" }, 299);
      s.metrics.recordsOut.inc({ topic: "t", partition: 0, to: "dlq" });
      s.events.batch({ sequence: seq, ranges: [{ topic: "t", partition: 0, firstOffset: (seq - 1) * 300, lastOffset: seq * 300 - 1, records: 300 }], records: 300, rows: seq === 1 ? 150 : 299, rejected: 1, bytes: 30_000, ms: 12.4, snapshot: seq });
      s.events.deadLettered([{ topic: "t", partition: 0, offset: String(seq * 300 - 1), reason: `record 0, field price: must not be negative\nsecond line ${seq}` }]);
    }
    expect(s.collector.totals()).toEqual({ in: 3600, out: 3600, rejected: 12 });
    const section = s.collector.section();
    expect(section.batches.map((b) => b.sequence)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(section.batches[0]).toEqual({
      sequence: 12,
      at: "2026-01-01T00:00:12.000Z",
      ranges: [{ topic: "t", partition: 0, first_offset: 3300, last_offset: 3599, records: 300 }],
      records: 300,
      rows: 299,
      rejected: 1,
      bytes: 30_000,
      files: null, // more rows than are inlined: its files are not counted
      ms: 12,
      snapshot: 12,
    });
    expect(section.dead_letters.count).toBe(12);
    expect(section.dead_letters.last.length).toBe(10);
    expect(section.dead_letters.last[0]).toEqual({ at: "2026-01-01T00:00:12.000Z", topic: "t", partition: 0, offset: "3599", reason: "record 0, field price: must not be negative" });
  });

  test("an inlined batch wrote no file", () => {
    const s = sink();
    s.events.batch({ sequence: 1, ranges: [], records: 150, rows: 150, rejected: 0, bytes: 1, ms: 1, snapshot: undefined });
    expect(s.collector.section().batches[0]).toMatchObject({ files: 0, snapshot: null });
  });

  test("the whole snapshot of a sink is valid", () => {
    const s = sink();
    s.positions.set(tpKey("t", 0), { tp: { topic: "t", partition: 0 }, next: 1 });
    const status = createStatus({ version: "t", config: {}, collector: s.collector, dependencies: new Dependencies() });
    const snap = status.snapshot();
    status.close();
    expect(v.safeParse(StatusSnapshotSchema, snap).issues ?? []).toEqual([]);
    expect(snap.sink!.group).toBe("g");
  });
});
