/**
 * `ferry sink`'s status: records in and out (the sink's counters, as /metrics shows them), lag per
 * partition (the lag gauge's values, beside each partition's next offset and end), the last
 * batches and dead letters (told by the sink as each batch commits), the catalog's snapshot.
 */
import type { Counter, Gauge } from "../../http/metrics.ts";
import { INLINE_ROWS } from "../../lake/tables.ts";
import { tpKey } from "../../pipeline/partitions.ts";
import { oneLine } from "../one-line.ts";
import { Recent } from "../recent.ts";
import type { StatusCollector } from "../status.ts";
import type { BatchStatus, SinkStatus } from "../types.ts";

type DeadLetterStatus = SinkStatus["dead_letters"]["last"][number];

export interface SinkView {
  group: string;
  topics: string[];
  metrics: { recordsIn: Counter; recordsOut: Counter; lag: Gauge; snapshot: Gauge };
  /** Assigned partitions and the next offset after the last committed batch (the Kafka source's). */
  positions(): ReadonlyMap<string, { tp: { topic: string; partition: number }; next: number | undefined }>;
  highWatermarks(): ReadonlyMap<string, number>;
}

export interface CommittedBatch {
  sequence: number;
  ranges: readonly { topic: string; partition: number; firstOffset: number; lastOffset: number; records: number }[];
  records: number;
  rows: number;
  rejected: number;
  bytes: number;
  ms: number;
  snapshot: number | undefined;
}

/** What the sink tells as batches commit. */
export class SinkEvents {
  private readonly batches = new Recent<BatchStatus>(10);
  private readonly deadLetters = new Recent<DeadLetterStatus>(10);
  constructor(private readonly now: () => number = Date.now) {}

  batch(b: CommittedBatch): void {
    this.batches.add({
      sequence: b.sequence,
      at: new Date(this.now()).toISOString(),
      ranges: b.ranges.map((r) => ({ topic: r.topic, partition: r.partition, first_offset: r.firstOffset, last_offset: r.lastOffset, records: r.records })),
      records: b.records,
      rows: b.rows,
      rejected: b.rejected,
      bytes: b.bytes,
      // A batch of at most INLINE_ROWS rows stays in the catalog (no file); a bigger one's files are not counted.
      files: b.rows <= INLINE_ROWS ? 0 : null,
      ms: Math.max(0, Math.round(b.ms)),
      snapshot: b.snapshot ?? null,
    });
  }

  /** Records sent to the dead-letter topic (in the order sent). */
  deadLettered(letters: readonly { topic: string; partition: number; offset: string; reason: string }[]): void {
    const at = new Date(this.now()).toISOString();
    for (const d of letters.slice(-10)) this.deadLetters.add({ at, topic: d.topic, partition: d.partition, offset: d.offset, reason: oneLine(d.reason) });
  }

  lastBatches(): BatchStatus[] {
    return this.batches.list();
  }

  lastDeadLetters(): DeadLetterStatus[] {
    return this.deadLetters.list();
  }
}

const numberOr = (n: number | [unknown, number][]) => (typeof n === "number" ? n : undefined);

export function sinkCollector(view: SinkView, events: SinkEvents): StatusCollector<"sink"> {
  const deadLettered = () => {
    let n = 0;
    for (const [labels, count] of view.metrics.recordsOut.entries()) if (labels.to === "dlq") n += count;
    return n;
  };
  return {
    mode: "sink",
    totals: () => ({ in: view.metrics.recordsIn.total(), out: view.metrics.recordsOut.total(), rejected: deadLettered() }),
    section() {
      const lagOf = new Map<string, number>();
      const lag = view.metrics.lag.value();
      if (typeof lag !== "number") for (const [l, n] of lag) lagOf.set(tpKey(String(l.topic), Number(l.partition)), n);
      const highs = view.highWatermarks();
      const partitions = [...view.positions()].map(([k, { tp, next }]) => ({
        topic: tp.topic,
        partition: tp.partition,
        next_offset: next ?? null,
        high_watermark: highs.get(k) ?? null,
        lag: lagOf.get(k) ?? null,
      }));
      partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      const snapshot = numberOr(view.metrics.snapshot.value());
      return {
        group: view.group,
        topics: view.topics,
        lag: partitions,
        batches: events.lastBatches(),
        dead_letters: { count: deadLettered(), last: events.lastDeadLetters() },
        snapshot: snapshot === undefined || snapshot === 0 ? null : snapshot,
      };
    },
  };
}
