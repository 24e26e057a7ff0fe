/**
 * Where the Kafka source stands, by partition: the assigned partitions and the next offset after
 * the last committed batch, how far fetches have gone (ahead while a batch is open), the high
 * watermarks seen, and the ends the topics had at start (for --until-caught-up); where a new
 * assignment starts (max of the sink's stored offset and Kafka's committed one).
 */
import { type TopicPartition, tpKey } from "../../pipeline/partitions.ts";
import type { PartitionRange } from "./types.ts";

export interface Placement {
  placed: (TopicPartition & { position: number | undefined })[];
  /** Partitions where the sink got further than Kafka was told (a crash between the two): to seek to, and commit. */
  behind: (TopicPartition & { offset: string })[];
}

/** Where each partition of a new assignment starts: max(stored by the sink, committed in Kafka), or undefined (the earliest). */
export function placement(tps: readonly TopicPartition[], stored: (tp: TopicPartition) => number | undefined, committed: ReadonlyMap<string, number>): Placement {
  const placed: Placement["placed"] = [];
  const behind: Placement["behind"] = [];
  for (const tp of tps) {
    const s = stored(tp);
    const kafka = committed.get(tpKey(tp.topic, tp.partition));
    const position = s === undefined ? kafka : kafka === undefined ? s : Math.max(s, kafka);
    if (position !== undefined && position !== kafka) behind.push({ ...tp, offset: String(position) });
    placed.push({ ...tp, position });
  }
  return { placed, behind };
}

export class Positions {
  /** Assigned partitions and the next offset to be read after the last committed batch. */
  readonly assigned = new Map<string, { tp: TopicPartition; next: number | undefined }>();
  /** High watermarks seen, by partition. */
  readonly highs = new Map<string, number>();
  /** Next offset to fetch, by partition (ahead of `assigned[].next` while a batch is open). */
  private readonly fetched = new Map<string, number>();
  /** End offsets when the source started, and low watermarks. */
  readonly startEnds = new Map<string, number>();
  readonly lows = new Map<string, number>();

  /** A new assignment is coming: forget the old one. */
  clear(): void {
    this.assigned.clear();
    this.fetched.clear();
    this.highs.clear();
  }

  assign(tp: TopicPartition, next: number | undefined): void {
    this.assigned.set(tpKey(tp.topic, tp.partition), { tp, next });
  }

  isAssigned(topic: string, partition: number): boolean {
    return this.assigned.has(tpKey(topic, partition));
  }

  fetchedUpTo(topic: string, partition: number, next: number): void {
    this.fetched.set(tpKey(topic, partition), next);
  }

  /** A batch is committed: its partitions (still assigned) continue after its ranges. */
  advance(ranges: readonly PartitionRange[]): void {
    for (const r of ranges) {
      const a = this.assigned.get(tpKey(r.topic, r.partition));
      if (a) a.next = r.lastOffset + 1;
    }
  }

  /** Notes the end and start offsets of a partition (read from Kafka); into `ends` (startEnds, or a scratch map). */
  noteEnds(ends: Map<string, number>, topic: string, partition: number, high: number, low: number): void {
    ends.set(tpKey(topic, partition), high);
    this.lows.set(tpKey(topic, partition), low);
  }

  /** Whether every assigned partition has reached its end at start: fetched so far, or committed. */
  atStartEnds(counting: "fetched" | "committed"): boolean {
    for (const [k, { next }] of this.assigned) {
      const position = (counting === "fetched" ? this.fetched.get(k) : undefined) ?? next ?? this.lows.get(k) ?? 0;
      if (position < (this.startEnds.get(k) ?? 0)) return false;
    }
    return true;
  }
}
