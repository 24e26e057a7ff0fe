/**
 * kafkajs under Bun against the real broker (scripts/services/kafka), as a peer client: a topic is created, an
 * idempotent producer writes gzip batches with acks=all, and a consumer group reads them back.
 */
import { afterAll, expect, test } from "bun:test";
import { CompressionTypes } from "kafkajs";
import { createKafka } from "../../src/kafka/client.ts";
import { createTopics } from "../../src/kafka/topics.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { SERVER_HOOK_TIMEOUT, TEST_BROKERS, uniqueName } from "../helpers/servers.ts";

const { log, lines } = memoryLogger();
const kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-smoke" }, log);
const admin = kafka.admin();
const topic = uniqueName("smoke");

afterAll(async () => {
  await admin.disconnect();
}, SERVER_HOOK_TIMEOUT);

test("create topic, produce idempotent gzip with acks=all, consume in a group", async () => {
  await admin.connect();
  expect(await createTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }])).toBe(true);
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  expect(meta.topics[0]!.partitions).toHaveLength(3);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ n: i, text: "x".repeat(i % 50) }) }));
  const acks = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: sent });
  expect(acks.reduce((n, a) => n + (a.errorCode === 0 ? 1 : 0), 0)).toBe(acks.length);
  await producer.disconnect();

  const groupId = uniqueName("smoke-group");
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.size} of ${sent.length} received`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          received.set(message.key!.toString(), message.value!.toString());
          if (received.size === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  for (const m of sent) expect(received.get(m.key)).toBe(m.value);
  // The group committed what it read.
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
  expect(committed).toBe(sent.length);
  expect(lines.filter((l) => /"level":"(error|warn)"/.test(l))).toEqual([]);
}, 60_000);
