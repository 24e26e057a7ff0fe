/**
 * The dead-letter topic: a record that cannot be decoded or validated goes to `<topic>.dlq`
 * unchanged (same key, value and headers), with headers saying why and where it came from.
 * Sends are acknowledged (acks=all) before the batch's offsets are committed, so a rejected
 * record is never lost; after a crash it may be sent twice (the headers name its source offset).
 */
import type { Kafka } from "kafkajs";
import { DownstreamError, errorMessage } from "../errors.ts";
import { openProducer, type IdempotentProducer } from "../kafka/producer/index.ts";
import type { Headers } from "../kafka/producer/record-batch.ts";
import { ensureTopic } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import type { Rejected } from "../pipeline/decode.ts";
import { groupBy } from "../pipeline/partitions.ts";

export const DLQ_SUFFIX = ".dlq";
export const DLQ_HEADERS = {
  reason: "ferry.error",
  topic: "ferry.source.topic",
  partition: "ferry.source.partition",
  offset: "ferry.source.offset",
} as const;

export async function openDeadLetters(kafka: Kafka, produceTimeoutMs: number, log: Logger) {
  const admin = kafka.admin();
  const known = new Set<string>();
  let producer: IdempotentProducer | undefined;

  async function connect(): Promise<IdempotentProducer> {
    if (producer) return producer;
    await admin.connect();
    producer = await openProducer(kafka, [], log);
    return producer;
  }

  return {
    /** Sends the rejected records to their topics' dead-letter topics; resolves once acknowledged. */
    async send(rejected: readonly Rejected[]): Promise<void> {
      if (rejected.length === 0) return;
      try {
        const p = await connect();
        const sends: Promise<void>[] = [];
        for (const [topic, records] of groupBy(rejected, (r) => r.topic)) {
          const dlq = `${topic}${DLQ_SUFFIX}`;
          if (!known.has(dlq)) {
            await ensureTopic(admin, dlq, 1, log);
            await p.addTopics([dlq]);
            known.add(dlq);
          }
          const messages = records.map((r) => ({
            key: r.record.key,
            value: r.record.value,
            headers: {
              ...(r.record.headers as Headers | undefined),
              [DLQ_HEADERS.reason]: r.reason,
              [DLQ_HEADERS.topic]: r.topic,
              [DLQ_HEADERS.partition]: String(r.partition),
              [DLQ_HEADERS.offset]: r.offset,
            },
          }));
          sends.push(p.send(dlq, messages, produceTimeoutMs));
        }
        await Promise.all(sends);
      } catch (e) {
        throw new DownstreamError("kafka", `cannot send ${rejected.length} rejected record(s) to the dead-letter topic: ${errorMessage(e)}`, { cause: e });
      }
    },
    async close(): Promise<void> {
      await producer?.close(produceTimeoutMs);
      await admin.disconnect().catch(() => {});
    },
  };
}

