/**
 * The open batch of the Kafka source: fetched messages go into it in chunks that fit the policy's
 * record count, each partition's offsets kept as one range; a message standing for a refused
 * record batch (a pointer from the fetch decoder) counts for its offsets and goes to `corrupt`,
 * not to the content. `take` hands the batch over and opens an empty one.
 */
import type { KafkaMessage } from "kafkajs";
import { type CorruptBatch, corruptionOf } from "../../kafka/fetch-response.ts";
import type { BatchPolicy } from "../../pipeline/batch-policy.ts";
import { tpKey } from "../../pipeline/partitions.ts";
import type { BatchContent, FilledBatch, PartitionRange } from "./types.ts";

export class BatchFiller<C extends BatchContent> {
  private runs = new Map<string, PartitionRange>();
  private content: C;
  private corrupt: CorruptBatch[] = [];
  private bytes = 0;
  records = 0;

  constructor(
    private readonly policy: BatchPolicy,
    private readonly newContent: () => C,
  ) {
    this.content = newContent();
  }

  get isEmpty(): boolean {
    return this.records === 0 && this.runs.size === 0;
  }

  /** Records that still fit before the policy's count closes the batch. */
  room(): number {
    return this.policy.maxRecords - this.records;
  }

  /** Whether the batch has reached the policy's records or bytes. */
  full(): boolean {
    return this.records >= this.policy.maxRecords || this.bytes >= this.policy.maxBytes;
  }

  /** Adds a chunk of one partition's messages (in offset order, at most room()); returns its last offset. */
  async add(topic: string, partition: number, messages: KafkaMessage[]): Promise<number> {
    const key = tpKey(topic, partition);
    const first = Number(messages[0]!.offset);
    const last = Number(messages[messages.length - 1]!.offset);
    let run = this.runs.get(key);
    if (!run) {
      run = { topic, partition, firstOffset: first, lastOffset: last, records: 0 };
      this.runs.set(key, run);
    }
    const before = this.corrupt.length;
    for (const m of messages) {
      this.bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
      const c = corruptionOf(m);
      if (c) this.corrupt.push(c);
    }
    const good = this.corrupt.length === before ? messages : messages.filter((m) => !corruptionOf(m));
    if (good.length > 0) await this.content.add(topic, partition, good);
    run.lastOffset = last;
    run.records += messages.length;
    this.records += messages.length;
    return last;
  }

  /** Hands the open batch over and opens an empty one. */
  take(): FilledBatch<C> {
    const batch = { ranges: [...this.runs.values()], content: this.content, corrupt: this.corrupt, records: this.records, bytes: this.bytes };
    this.reset();
    return batch;
  }

  /** Drops the open batch (its records are read again by whoever owns the partitions next). */
  reset(): void {
    this.runs = new Map();
    this.content = this.newContent();
    this.corrupt = [];
    this.records = 0;
    this.bytes = 0;
  }
}
