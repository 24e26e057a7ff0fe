/**
 * ferry's Fetch v11 response decoder (src/kafka/fetch-response.ts) against kafkajs's own, on real
 * responses of the broker: plain batches (keys, null keys and values, headers, repeated header
 * names, multi-byte text), batches compressed by kafkajs and by ferry's producer, transactional
 * batches with commit and abort markers (control batches, aborted transactions), a topic with
 * LogAppendTime, and a response cut in the middle of a batch (max_bytes). Both must give the same.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CompressionTypes, type Kafka } from "kafkajs";
// @ts-expect-error kafkajs ships no types for its internals
import fetchV11Request from "kafkajs/src/protocol/requests/fetch/v11/request.js";
import { createKafka } from "../../src/kafka/client.ts";
import { registerCodecs } from "../../src/kafka/codecs/index.ts";
import { decodeFetchV11 } from "../../src/kafka/fetch-response.ts";
import { createCluster, type InternalCluster, kafkajsFetchV11Decode, type RawRequest, sendRaw } from "../../src/kafka/kafkajs/internals.ts";
import { openProducer } from "../../src/kafka/producer/index.ts";
import { createTopics } from "../../src/kafka/topics.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { TEST_BROKERS, uniqueName } from "../helpers/servers.ts";

const { log } = memoryLogger();
let kafka: Kafka;
let cluster: InternalCluster;

beforeAll(async () => {
  registerCodecs();
  kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, log);
  cluster = createCluster(kafka);
  await cluster.connect();
});
afterAll(async () => {
  await cluster.disconnect();
});

/** The raw bytes of a Fetch v11 response for partition 0 of `topic` from `offset`. */
async function rawFetch(topic: string, offset: number, maxBytes = 1 << 20, isolationLevel = 1): Promise<Buffer> {
  await cluster.addMultipleTargetTopics([topic]);
  await cluster.refreshMetadata();
  const leader = cluster.findTopicPartitionMetadata(topic).find((p) => p.partitionId === 0)!.leader;
  const broker = await cluster.findBroker({ nodeId: leader });
  const request = fetchV11Request({ replicaId: -1, maxWaitTime: 100, minBytes: 1, maxBytes, isolationLevel, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: String(offset), maxBytes }] }] }) as RawRequest;
  return sendRaw(broker, { ...request, expectResponse: () => true }, { decode: async (payload: Buffer) => payload, parse: async (b: Buffer) => b });
}

async function newTopic(config: { name: string; value: string }[] = []): Promise<string> {
  const topic = uniqueName("fetch-dec");
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [{ topic, numPartitions: 1, configEntries: config }]);
  await admin.disconnect();
  return topic;
}

async function expectSameDecoding(topic: string, minRecords: number, maxBytes?: number, isolationLevel?: number) {
  const raw = await rawFetch(topic, 0, maxBytes, isolationLevel);
  const ours = (await decodeFetchV11(raw)) as { responses: { partitions: { messages: unknown[] }[] }[] };
  expect(ours).toEqual((await kafkajsFetchV11Decode(raw)) as never);
  expect(ours.responses[0]!.partitions[0]!.messages.length).toBeGreaterThanOrEqual(minRecords);
  return ours;
}

describe("Fetch v11 decoding", () => {
  test("plain batches: keys, nulls, headers (repeated names), multi-byte text", async () => {
    const topic = await newTopic();
    const producer = kafka.producer();
    await producer.connect();
    for (let b = 0; b < 5; b++) {
      await producer.send({
        topic,
        messages: Array.from({ length: 100 }, (_, i) => ({
          key: i % 7 === 0 ? null : `k-${b}-${i}`,
          value: i % 11 === 0 ? null : JSON.stringify({ n: i, text: "café ☕ 𝄞", big: "x".repeat(i * 3) }),
          headers: i % 3 === 0 ? { a: "1", b: ["x", "y"], "é": Buffer.from([0, 255]) } : undefined,
          timestamp: i % 5 === 0 ? String(Date.UTC(2026, 0, 1) + i) : undefined,
        })),
      });
    }
    await producer.disconnect();
    await expectSameDecoding(topic, 500);
  });

  test("compressed batches (kafkajs gzip; ferry lz4 and zstd), in order with plain ones", async () => {
    const topic = await newTopic();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, compression: CompressionTypes.GZIP, messages: Array.from({ length: 50 }, (_, i) => ({ key: `g${i}`, value: `gzip ${i}` })) });
    await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ key: `p${i}`, value: `plain ${i}` })) });
    await producer.disconnect();
    for (const compression of ["lz4", "zstd"] as const) {
      const ours = await openProducer(kafka, [topic], log, { compression });
      await ours.send(topic, Array.from({ length: 50 }, (_, i) => ({ key: `${compression}${i}`, value: `${compression} ${i}` })), 30_000);
      await ours.close(30_000);
    }
    await expectSameDecoding(topic, 200);
  });

  test("transactions: committed and aborted batches, their markers, read committed and uncommitted", async () => {
    const topic = await newTopic();
    const producer = kafka.producer({ transactionalId: uniqueName("tx"), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const outcome of ["commit", "abort", "commit"] as const) {
      const tx = await producer.transaction();
      await tx.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: `${outcome}${i}`, value: `${outcome} ${i}` })) });
      await (outcome === "commit" ? tx.commit() : tx.abort());
    }
    await producer.disconnect();
    const committed = await expectSameDecoding(topic, 40, undefined, 1);
    expect((committed.responses[0]!.partitions[0] as unknown as { abortedTransactions: unknown[] }).abortedTransactions.length).toBe(1);
    await expectSameDecoding(topic, 60, undefined, 0);
  });

  test("LogAppendTime topics, and a response cut inside a batch", async () => {
    const topic = await newTopic([{ name: "message.timestamp.type", value: "LogAppendTime" }]);
    const producer = kafka.producer();
    await producer.connect();
    for (let b = 0; b < 4; b++) await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ value: `v${b}-${i}`.repeat(10) })) });
    await producer.disconnect();
    await expectSameDecoding(topic, 160);
    // max_bytes smaller than the topic: the broker may end the response inside a batch.
    for (const maxBytes of [3000, 5000, 7001]) await expectSameDecoding(topic, 1, maxBytes);
  });
});
