/** `ferry serve`: HTTP ingress → Kafka (acks=all, idempotent, key = order_id). */
import * as v from "valibot";
import { logLevelField } from "../config/common.ts";
import { bool, duration, int, str } from "../config/fields.ts";
import { httpFields } from "../http/config.ts";
import { compressionField, kafkaClientFields, registryProducerFields } from "../kafka/config.ts";
import type { FlushObserver } from "../pipeline/coalescer.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import { redactUrlPassword } from "../log/redact.ts";
import { serveUntilStopped } from "./http-lifecycle.ts";
import { serveCollector } from "../status/collectors/serve.ts";
import { Dependencies } from "../status/dependencies.ts";
import { defineMode } from "./mode.ts";

export const serveMode = defineMode({
  name: "serve",
  summary: "HTTP ingress that produces every accepted order to Kafka (acks=all)",
  details:
    "POST /orders answers 202 only once Kafka acknowledged every record of the request (acks=all,\n" +
    "idempotent producer). Orders of concurrent requests share produce batches (--linger, --batch-records).\n" +
    "Delivery: at-least-once. A 202 order is in Kafka, across broker crashes and restarts. A 503 (Kafka\n" +
    "unreachable, not acknowledged within --produce-timeout, or shutting down) means not acknowledged:\n" +
    "records not yet sent by then are never sent, one already in flight may still land. So a retried\n" +
    "order, or one resent after a lost connection, can appear twice in the topic, never zero times;\n" +
    "the sink keeps one row per order_id.",
  config: v.object({
    ...kafkaClientFields,
    topic: v.optional(str({ doc: "Topic the orders are produced to.", placeholder: "TOPIC", min: 1 }), "orders"),
    partitions: v.optional(int({ doc: "Partitions of the topic when ferry creates it.", min: 1 }), 6),
    createTopic: v.optional(bool({ doc: "Create the topic if it is missing (--no-create-topic: a missing topic is an error)." }), true),
    produceTimeout: v.optional(duration({ doc: "A request whose records Kafka has not acknowledged by then gets 503.", min: 1 }), 5000),
    ...compressionField,
    ...registryProducerFields,
    ...httpFields,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const [{ createKafka }, { registryOf }, { openKafkaOrderSink }] = await Promise.all([
      import("../kafka/client.ts"),
      import("../kafka/registry.ts"),
      import("../sinks/kafka-orders.ts"),
    ]);
    const kafka = createKafka(config, ctx.log);
    const registry = registryOf(config);
    const openSink = (onFlush: FlushObserver) =>
      openKafkaOrderSink(
        kafka,
        {
          topic: config.topic,
          createPartitions: config.createTopic ? config.partitions : undefined,
          lingerMs: config.linger,
          maxBatchRecords: config.batchRecords,
          produceTimeoutMs: config.produceTimeout,
          compression: config.compression,
          onFlush,
          registry,
        },
        ctx.log,
      );
    const dependencies = new Dependencies();
    const status = {
      dependencies,
      collector: (sink: OrderSink, ingress: Parameters<typeof serveCollector>[0]["ingress"]) => {
        // Kafka as the sink sees it (failed produce requests, a metadata probe every second).
        dependencies.add("kafka", "kafka", config.brokers.join(","), () => (sink.ready() ? { up: true } : { up: false, reason: sink.notReadyReason ?? "unreachable" }));
        // Reached at start (ferry's schema registered or looked up); asked again only by a restart.
        if (config.schemaRegistry) dependencies.add("schema registry", "registry", redactUrlPassword(config.schemaRegistry)).up();
        return serveCollector({ ingress, maxInFlight: config.maxInFlight, topic: config.topic });
      },
    };
    return serveUntilStopped(config, openSink, ctx, { topic: config.topic, brokers: config.brokers.join(",") }, undefined, status);
  },
});
