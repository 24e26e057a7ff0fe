/**
 * `--compression` on the producing modes: every codec's batches, written by ferry's own encoders,
 * are read by Kafka's own console consumer (Java) and by librdkafka (Python confluent-kafka), and
 * the broker's log shows the codec (Kafka's DumpLogSegments).
 */
import { describe, expect, test } from "bun:test";
import { COMPRESSIONS } from "../../src/kafka/codecs/compress.ts";
import { expectSuccess, order, postOrders, runFerry, startFerry } from "../helpers/ferry-process.ts";
import { batchCodecs, javaConsume, librdkafkaConsume } from "../helpers/peers.ts";
import { TEST_BROKERS, uniqueName } from "../helpers/servers.ts";

const BROKERS = TEST_BROKERS.join(",");
const COUNT = 3000;
const ids = (values: string[]) => values.map((v) => (JSON.parse(v) as { order_id: string }).order_id).sort();

describe("--compression", () => {
  for (const codec of COMPRESSIONS) {
    test(`generate --compression ${codec}: read by Kafka's console consumer and by librdkafka`, async () => {
      const topic = uniqueName(`comp-${codec}`);
      const gen = await runFerry(["generate", "--brokers", BROKERS, "--topic", topic, "--partitions", "1", "--count", String(COUNT), "--seed", "9", "--compression", codec]);
      expectSuccess(gen);
      const codecs = await batchCodecs(topic);
      expect(codecs.length).toBeGreaterThan(0);
      expect(new Set(codecs)).toEqual(new Set([codec]));
      const [java, rdkafka] = await Promise.all([javaConsume(BROKERS, topic, COUNT), librdkafkaConsume(BROKERS, topic, COUNT)]);
      expect(java.length).toBe(COUNT);
      expect(new Set(ids(java)).size).toBe(COUNT);
      expect(ids(rdkafka)).toEqual(ids(java));
      expect(rdkafka.sort()).toEqual(java.sort()); // byte for byte the same values
    }, 120_000);
  }

  test("serve --compression lz4: a 202 order is in the topic as an lz4 batch", async () => {
    const topic = uniqueName("comp-serve");
    const ferry = await startFerry(["serve", "--brokers", BROKERS, "--topic", topic, "--partitions", "1", "--port", "0", "--compression", "lz4"]);
    try {
      expect((await postOrders(ferry.url, Array.from({ length: 50 }, (_, i) => order(`z${i}`)))).status).toBe(202);
    } finally {
      expect(await ferry.stop()).toBe(0);
    }
    expect(new Set(await batchCodecs(topic))).toEqual(new Set(["lz4"]));
    expect((await javaConsume(BROKERS, topic, 50)).length).toBe(50);
  }, 60_000);
});
