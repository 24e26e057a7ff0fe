/** What the Kafka batch source hands on, shared by its pieces and the sink. */
import type { KafkaMessage } from "kafkajs";
import type { CorruptBatch } from "../../kafka/fetch-response.ts";

/** A partition's part of a batch: a contiguous run of fetched offsets. */
export interface PartitionRange {
  topic: string;
  partition: number;
  /** First and last offset fetched (records may be missing in between: compaction, transactions). */
  firstOffset: number;
  lastOffset: number;
  records: number;
}

/**
 * What a batch's records are turned into as they arrive (decoded, validated rows), so the work
 * is spread over the fetches and the raw messages are not held until the batch closes.
 */
export interface BatchContent {
  add(topic: string, partition: number, messages: KafkaMessage[]): void | Promise<void>;
}

/** A batch as it was filled, before it is numbered. */
export interface FilledBatch<C extends BatchContent = BatchContent> {
  ranges: PartitionRange[];
  content: C;
  /** Record batches the fetch decoder refused (src/kafka/fetch-response.ts): to be dead-lettered as pointers; their offsets are in `ranges`. */
  corrupt: CorruptBatch[];
  records: number;
  bytes: number;
}

export interface SourceBatch<C extends BatchContent = BatchContent> extends FilledBatch<C> {
  /** 1, 2, 3… in this process. */
  sequence: number;
}
