/** Reads a whole topic with a real consumer and answers "what is durable" questions about it; writes test topics. */
import type { Admin, Kafka, Message } from "kafkajs";
import { createTopics } from "../../src/kafka/topics.ts";
import { uniqueName } from "./servers.ts";

export interface ReadMessage {
  key: string;
  value: string;
  /** The value's bytes as they are (a framed value's header included). */
  raw: Buffer;
  partition: number;
  offset: number;
}

/**
 * A topic's offsets, asked again while the broker answers a retriable error (e.g. NOT_LEADER right
 * after a broker restart, before the client's metadata caught up): up to 15 s.
 */
export async function topicOffsets(admin: Admin, topic: string): Promise<Awaited<ReturnType<Admin["fetchTopicOffsets"]>>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (e) {
      if (!(e as { retriable?: boolean }).retriable || Date.now() > deadline) throw e;
      await Bun.sleep(200);
    }
  }
}

export async function topicReader(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({ groupId: uniqueName("reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: ReadMessage[] = [];
  const next = new Map<number, number>();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      messages.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? "", value: message.value?.toString() ?? "", raw: message.value ?? Buffer.alloc(0) });
      next.set(partition, Number(message.offset) + 1);
    },
  });

  /** Waits until everything written to the topic so far has been read. */
  async function caughtUp(timeoutMs = 20_000): Promise<void> {
    const marks = await topicOffsets(admin, topic);
    const deadline = Date.now() + timeoutMs;
    while (!marks.every((m) => Number(m.high) === 0 || (next.get(m.partition) ?? 0) >= Number(m.high))) {
      if (Date.now() > deadline) throw new Error(`reader did not catch up with ${JSON.stringify(marks)} (at ${JSON.stringify([...next])})`);
      await Bun.sleep(50);
    }
  }

  return {
    messages,
    caughtUp,
    /** The latest value of each of these keys (JSON-decoded). */
    async latest(keys: string[]): Promise<Map<string, Record<string, unknown>>> {
      await caughtUp();
      const want = new Set(keys);
      const out = new Map<string, Record<string, unknown>>();
      for (const m of messages) if (want.has(m.key)) out.set(m.key, JSON.parse(m.value));
      return out;
    },
    async close() {
      await consumer.disconnect();
      await admin.disconnect();
    },
  };
}

/** Everything the topic holds now. */
export async function readTopic(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  const r = await topicReader(kafka, topic);
  await r.caughtUp();
  await r.close();
  return r.messages;
}

export async function createTestTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [{ topic, numPartitions: partitions }]);
  await admin.disconnect();
}

/** Creates a one-partition topic and produces these messages to it, in order (acks=all). */
export async function produceTo(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  await createTestTopic(kafka, topic, 1);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}
