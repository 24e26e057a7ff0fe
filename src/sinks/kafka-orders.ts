/**
 * Orders into a Kafka topic through ferry's idempotent producer (acks=all, key = order_id). The
 * orders of concurrent requests share produce batches (the producer batches per partition while
 * requests are in flight). A write not acknowledged within `produceTimeoutMs` is answered as
 * unavailable, and its records not yet sent are never sent (see src/kafka/producer/producer.ts).
 * Readiness follows Kafka: failed produce requests, and a probe asking for the topic's metadata
 * every second.
 */
import type { Kafka } from "kafkajs";
import type { Compression } from "../kafka/codecs/compress.ts";
import { errorMessage } from "../errors.ts";
import { Availability } from "../kafka/availability.ts";
import { connectFailure } from "../kafka/client.ts";
import { openProducer, type IdempotentProducer } from "../kafka/producer/index.ts";
import { valueWriter, type SchemaRegistry } from "../kafka/registry.ts";
import { ensureTopic } from "../kafka/topics.ts";
import { registrySchemaOf } from "../schema/json-schema.ts";
import type { Logger } from "../log/logger.ts";
import type { FlushObserver } from "../pipeline/coalescer.ts";
import { UnavailableError, withDeadline } from "../pipeline/errors.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import { OrderSchema, type ReceivedOrder } from "../schema/order.ts";

export interface KafkaOrderSinkOptions {
  topic: string;
  /** Create the topic with this many partitions when it is missing; undefined: a missing topic is an error. */
  createPartitions?: number;
  lingerMs: number;
  maxBatchRecords: number;
  /** A write not acknowledged within this long is answered as unavailable. */
  produceTimeoutMs: number;
  compression: Compression;
  probeIntervalMs?: number;
  onFlush?: FlushObserver;
  /** Register the order schema as `<topic>-value` and frame values with its id. */
  registry?: SchemaRegistry;
}

export async function openKafkaOrderSink(kafka: Kafka, opts: KafkaOrderSinkOptions, log: Logger): Promise<OrderSink> {
  const writeValue = await valueWriter(opts.registry, opts.topic, registrySchemaOf(OrderSchema));
  const availability = new Availability(log);
  const admin = kafka.admin();
  let producer: IdempotentProducer;
  const started = Date.now();
  try {
    await admin.connect();
    await ensureTopic(admin, opts.topic, opts.createPartitions, log);
    producer = await openProducer(kafka, [opts.topic], log, {
      availability,
      lingerMs: opts.lingerMs,
      maxBatchRecords: opts.maxBatchRecords,
      onRequest: opts.onFlush,
      compression: opts.compression,
    });
  } catch (e) {
    await admin.disconnect().catch(() => {});
    throw connectFailure(e, Date.now() - started);
  }

  let probing = false;
  const probe = setInterval(async () => {
    if (probing) return;
    probing = true;
    try {
      await withDeadline(admin.fetchTopicMetadata({ topics: [opts.topic] }), 2000, "metadata request");
      availability.reached();
    } catch (e) {
      availability.down(`broker not answering (${errorMessage(e)})`);
    } finally {
      probing = false;
    }
  }, opts.probeIntervalMs ?? 1000);

  return {
    get notReadyReason() {
      return availability.reason;
    },
    ready: () => availability.up,
    async write(orders: ReceivedOrder[]) {
      const messages = orders.map((o) => ({ key: o.order_id, value: writeValue(JSON.stringify(o)) }));
      try {
        await producer.send(opts.topic, messages, opts.produceTimeoutMs);
      } catch (e) {
        if (e instanceof UnavailableError) throw e;
        throw new UnavailableError(`kafka: ${errorMessage(e)}`, 1, { cause: e });
      }
    },
    async close() {
      clearInterval(probe);
      await producer.close(opts.produceTimeoutMs);
      await admin.disconnect().catch(() => {});
    },
  };
}
