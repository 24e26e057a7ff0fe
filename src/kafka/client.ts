/**
 * The Kafka client factory: the only place that builds a kafkajs client. kafkajs's own logs are
 * routed into ferry's JSON logger. kafkajs logs every error response of the protocol at ERROR,
 * even those it retries (a coordinator still loading, a leader moving): those go to debug, and its
 * other errors to warn, because ferry reports a failure that matters itself, once, with context.
 */
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type KafkaConfig, type logCreator, type Producer } from "kafkajs";
import type { Logger } from "../log/logger.ts";

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** How long a connection attempt may take before a broker counts as unreachable. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retries?: number;
}

function routeLogs(log: Logger): logCreator {
  return () =>
    ({ level, log: entry }) => {
      const { message, ...fields } = entry;
      const chatter = level > KafkaLogLevel.WARN || String(message).startsWith("Response ");
      const target = chatter ? log.debug : log.warn;
      target(`kafkajs: ${message}`, fields);
    };
}

export function createKafka(opts: KafkaClientOptions, log: Logger): Kafka {
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: opts.connectionTimeoutMs ?? 3000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    retry: { retries: opts.retries ?? 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: log.enabled("debug") ? KafkaLogLevel.DEBUG : KafkaLogLevel.WARN,
    logCreator: routeLogs(log),
  };
  return new Kafka(config);
}

/**
 * An idempotent producer (acks=all is asked per send) with Kafka's Java partitioner (murmur2 of
 * the key), so ferry places keys where every other Kafka client does. An idempotent producer must
 * retry without limit to keep its guarantees; callers bound their waits with their own deadlines.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}
