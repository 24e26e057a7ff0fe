/**
 * Orders into a Kafka topic: an idempotent producer (acks=all, key = order_id), with the orders
 * of concurrent requests coalesced into shared produce batches (kafkajs sends one request per
 * send()). Readiness follows the broker: a probe asks for the topic's metadata every second.
 */
import type { Kafka } from "kafkajs";
import { DownstreamError, errorMessage } from "../errors.ts";
import { createProducer } from "../kafka/client.ts";
import { valueWriter, type SchemaRegistry } from "../kafka/registry.ts";
import { ensureTopic } from "../kafka/topics.ts";
import { registrySchemaOf } from "../schema/json-schema.ts";
import type { Logger } from "../log/logger.ts";
import { Coalescer, type FlushObserver } from "../pipeline/coalescer.ts";
import { UnavailableError, withDeadline } from "../pipeline/errors.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import { OrderSchema, type ReceivedOrder } from "../schema/order.ts";

export interface KafkaOrderSinkOptions {
  topic: string;
  /** Create the topic with this many partitions when it is missing; undefined: a missing topic is an error. */
  createPartitions?: number;
  lingerMs: number;
  maxBatchRecords: number;
  maxInFlightBatches: number;
  /** A write not acknowledged within this long is answered as unavailable. */
  produceTimeoutMs: number;
  probeIntervalMs?: number;
  onFlush?: FlushObserver;
  /** Register the order schema as `<topic>-value` and frame values with its id. */
  registry?: SchemaRegistry;
}

interface Message {
  key: string;
  value: string | Buffer;
}

export async function openKafkaOrderSink(kafka: Kafka, opts: KafkaOrderSinkOptions, log: Logger): Promise<OrderSink> {
  const writeValue = await valueWriter(opts.registry, opts.topic, registrySchemaOf(OrderSchema));
  const admin = kafka.admin();
  const producer = createProducer(kafka);
  try {
    await admin.connect();
    await ensureTopic(admin, opts.topic, opts.createPartitions, log);
    await producer.connect();
  } catch (e) {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    if (e instanceof DownstreamError) throw e;
    throw new DownstreamError("kafka", `cannot connect: ${errorMessage(e)}`, { cause: e });
  }

  let ready = true;
  let reason: string | undefined;
  const setReady = (ok: boolean, why?: string) => {
    if (ok !== ready) (ok ? log.notice : log.warn)(ok ? "kafka reachable again" : "kafka unavailable", { reason: why });
    ready = ok;
    reason = ok ? undefined : why;
  };

  const coalescer = new Coalescer<Message>({
    maxItems: opts.maxBatchRecords,
    lingerMs: opts.lingerMs,
    maxInFlight: opts.maxInFlightBatches,
    flush: async (messages) => {
      await producer.send({ topic: opts.topic, acks: -1, messages });
    },
    onFlush: opts.onFlush,
  });

  let probing = false;
  const probe = setInterval(async () => {
    if (probing) return;
    probing = true;
    try {
      await withDeadline(admin.fetchTopicMetadata({ topics: [opts.topic] }), 2000, "metadata request");
      setReady(true);
    } catch (e) {
      setReady(false, `broker not answering (${errorMessage(e)})`);
    } finally {
      probing = false;
    }
  }, opts.probeIntervalMs ?? 1000);

  return {
    get notReadyReason() {
      return reason;
    },
    ready: () => ready,
    async write(orders: ReceivedOrder[]) {
      const messages = orders.map((o) => ({ key: o.order_id, value: writeValue(JSON.stringify(o)) }));
      try {
        await withDeadline(coalescer.submit(messages), opts.produceTimeoutMs, "Kafka acknowledgement");
      } catch (e) {
        if (e instanceof UnavailableError) {
          setReady(false, e.message);
          throw e;
        }
        throw new UnavailableError(`kafka: ${errorMessage(e)}`, 1, { cause: e });
      }
    },
    async close() {
      clearInterval(probe);
      await withDeadline(coalescer.drain(), opts.produceTimeoutMs, "flushing the producer").catch((e) =>
        log.error("records still unacknowledged at shutdown", { pending: coalescer.pending, error: e }),
      );
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}
