/** Opens ferry's idempotent producer on a kafkajs client's settings (brokers, TLS, SASL, timeouts). */
import type { Kafka } from "kafkajs";
import type { Logger } from "../../log/logger.ts";
import { Availability } from "../availability.ts";
import { connectFailure } from "../client.ts";
import { createCluster } from "../kafkajs/internals.ts";
import { IdempotentProducer, type ProducerOptions } from "./producer.ts";

export { IdempotentProducer, type ProducerOptions, type ProducerRecord } from "./producer.ts";

/**
 * Connects and gets a producer id; `topics` must exist (their partitions are known before the
 * first send). Throws a DownstreamError naming what was tried when Kafka cannot be reached.
 */
export async function openProducer(
  kafka: Kafka,
  topics: string[],
  log: Logger,
  opts: ProducerOptions & { availability?: Availability } = {},
): Promise<IdempotentProducer> {
  const cluster = createCluster(kafka);
  const producer = new IdempotentProducer(cluster, opts.availability ?? new Availability(log), log, opts);
  const started = Date.now();
  try {
    await producer.connect(topics);
  } catch (e) {
    await cluster.disconnect().catch(() => {});
    throw connectFailure(e, Date.now() - started);
  }
  return producer;
}
