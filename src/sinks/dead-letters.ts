/**
 * The dead-letter topic: a record that cannot be decoded or validated goes to `<topic>.dlq`
 * unchanged (same key, value and headers: every header pair in its order, repeated names, null
 * values and names such as `__proto__` included), followed by headers saying why and where it came
 * from. Sends are acknowledged (acks=all) before the batch's offsets are committed, so a rejected
 * record is never lost; after a crash it may be sent twice (the headers name its source offset).
 *
 * Two kinds of dead letter carry no record, only a pointer to it (null key and value, the ferry
 * headers plus `ferry.source.last-offset` and `ferry.source.bytes`): a record batch the fetch
 * decoder refused (corrupt, or inflating beyond --max-inflated-bytes: src/kafka/fetch-response.ts),
 * and a record too big for the dead-letter topic (its max.message.bytes): the pointer names it so
 * that it can be read from the source topic while that keeps it.
 *
 * The reason is text for people and tools: at most REASON_MAX_BYTES, control characters and
 * unpaired surrogates escaped (\uXXXX), so a reason that quotes a value never echoes a huge or
 * binary one.
 */
import { ConfigResourceTypes, type Kafka } from "kafkajs";
import { DownstreamError, errorMessage } from "../errors.ts";
import type { CorruptBatch } from "../kafka/fetch-response.ts";
import { openProducer, type IdempotentProducer } from "../kafka/producer/index.ts";
import { BATCH_OVERHEAD, byteLength, type HeaderList, recordSize } from "../kafka/producer/record-batch.ts";
import { headerPairsOf } from "../kafka/record-batch-decoder.ts";
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
  /** Pointers only: the last offset the pointer covers (a refused batch), and the original size in bytes. */
  lastOffset: "ferry.source.last-offset",
  bytes: "ferry.source.bytes",
} as const;

/** A rejected record, or a pointer (`pointer` set: the record(s) are not carried). */
export interface DeadLetter extends Rejected {
  pointer?: { lastOffset: string; bytes: number };
}

export const REASON_MAX_BYTES = 1024;
/** Kafka's default max.message.bytes, when the topic's cannot be read. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** A reason as it goes into a header: control characters and unpaired surrogates escaped, at most REASON_MAX_BYTES. */
export function reasonText(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = reason.replace(/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (Buffer.byteLength(escaped, "utf8") <= REASON_MAX_BYTES) return escaped;
  const suffix = ` … (${Buffer.byteLength(escaped, "utf8")} bytes, cut)`;
  let cut = escaped.slice(0, REASON_MAX_BYTES - suffix.length);
  while (Buffer.byteLength(cut + suffix, "utf8") > REASON_MAX_BYTES) cut = cut.slice(0, -1);
  // Never end on half of a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + suffix;
}

/** The pointer dead letter of a record batch the fetch decoder refused. */
export function pointerOf(c: CorruptBatch): DeadLetter {
  return {
    topic: c.topic,
    partition: c.partition,
    offset: c.firstOffset,
    record: { key: null, value: null, offset: c.firstOffset, timestamp: "-1" },
    reason: c.reason,
    pointer: { lastOffset: c.lastOffset, bytes: c.bytes },
  };
}

interface Outgoing {
  key: Buffer | null;
  value: Buffer | null;
  headers: HeaderList;
}

/** The message for a dead letter: the record with its headers and ferry's, or a pointer. */
export function deadLetterMessage(d: DeadLetter, maxMessageBytes: number): Outgoing {
  const ferry = (reason: string, extra: [string, string][] = []): [string, string][] => [
    [DLQ_HEADERS.reason, reasonText(reason)],
    [DLQ_HEADERS.topic, d.topic],
    [DLQ_HEADERS.partition, String(d.partition)],
    [DLQ_HEADERS.offset, d.offset],
    ...extra,
  ];
  const pointer = (reason: string, lastOffset: string, bytes: number): Outgoing => ({
    key: null,
    value: null,
    headers: ferry(reason, [
      [DLQ_HEADERS.lastOffset, lastOffset],
      [DLQ_HEADERS.bytes, String(bytes)],
    ]),
  });
  if (d.pointer) return pointer(d.reason, d.pointer.lastOffset, d.pointer.bytes);
  const { key, value } = d.record;
  const own = headerPairsOf(d.record.headers);
  const headers: HeaderList = [...own, ...ferry(d.reason)];
  const size = BATCH_OVERHEAD + recordSize(byteLength(key), byteLength(value), headers);
  if (size <= maxMessageBytes) return { key, value, headers };
  const original = BATCH_OVERHEAD + recordSize(byteLength(key), byteLength(value), own);
  return pointer(`${d.reason} (the record is ${size} bytes as a dead letter, over the dead-letter topic's max.message.bytes ${maxMessageBytes}: only this pointer is sent)`, d.offset, original);
}

export async function openDeadLetters(kafka: Kafka, produceTimeoutMs: number, log: Logger) {
  const admin = kafka.admin();
  /** Dead-letter topics known to exist, with their max.message.bytes. */
  const known = new Map<string, number>();
  let producer: IdempotentProducer | undefined;

  async function connect(): Promise<IdempotentProducer> {
    if (producer) return producer;
    await admin.connect();
    producer = await openProducer(kafka, [], log);
    return producer;
  }

  async function maxMessageBytes(topic: string): Promise<number> {
    try {
      const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["max.message.bytes"] }] });
      const value = Number(resources[0]?.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue);
      return Number.isFinite(value) && value > 0 ? value : DEFAULT_MAX_MESSAGE_BYTES;
    } catch (e) {
      log.warn("cannot read the dead-letter topic's max.message.bytes; assuming Kafka's default", { topic, error: errorMessage(e) });
      return DEFAULT_MAX_MESSAGE_BYTES;
    }
  }

  return {
    /** Sends the rejected records (and pointers) to their topics' dead-letter topics; resolves once acknowledged. */
    async send(rejected: readonly DeadLetter[]): Promise<void> {
      if (rejected.length === 0) return;
      try {
        const p = await connect();
        const sends: Promise<void>[] = [];
        for (const [topic, records] of groupBy(rejected, (r) => r.topic)) {
          const dlq = `${topic}${DLQ_SUFFIX}`;
          let limit = known.get(dlq);
          if (limit === undefined) {
            await ensureTopic(admin, dlq, 1, log);
            await p.addTopics([dlq]);
            limit = await maxMessageBytes(dlq);
            known.set(dlq, limit);
          }
          const max = limit;
          sends.push(p.send(dlq, records.map((r) => deadLetterMessage(r, max)), produceTimeoutMs));
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
