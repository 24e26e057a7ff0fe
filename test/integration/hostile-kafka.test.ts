/**
 * Hostile Kafka input against the real broker and the compiled binary: a topic holding good
 * orders around compression bombs in every codec (valid batches the broker accepts, inflating far
 * beyond --max-inflated-bytes), a record with null header values and `__proto__`/`constructor`
 * header names (and a value that is not an order), and a record too big for the dead-letter topic.
 * `dist/ferry sink --until-caught-up` exits 0, every good order is in the table, and `<topic>.dlq`
 * holds: the hostile-header record with its headers exactly (order, repeats, nulls), a pointer for
 * each bomb (offsets, reason), and a pointer for the big record (its size, no value).
 * (Batches with a wrong CRC or broken lengths cannot be produced: the broker checks them; the
 * decoder's answer to them is tested in test/unit/kafka/.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Kafka } from "kafkajs";
import { createKafka } from "../../src/kafka/client.ts";
import { openProducer } from "../../src/kafka/producer/index.ts";
import type { HeaderList } from "../../src/kafka/producer/record-batch.ts";
import { headerPairsOf } from "../../src/kafka/record-batch-decoder.ts";
import { createTopics } from "../../src/kafka/topics.ts";
import { DLQ_HEADERS } from "../../src/sinks/dead-letters.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { TEST_BROKERS, uniqueName } from "../helpers/servers.ts";

const FERRY = resolve(import.meta.dir, "../../dist/ferry");
const { log } = memoryLogger();
const kafka: Kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, log);
const work = mkdtempSync(join(tmpdir(), "ferry-hostile-kafka-"));
const LIMIT = 8 << 20;

beforeAll(() => {
  if (!existsSync(FERRY)) throw new Error("dist/ferry is missing: run `node_modules/.bin/bun scripts/build.ts`");
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const order = (i: number) => JSON.stringify({ order_id: `o-${i}`, product: "beans", quantity: 1 + (i % 5), price: 2.5 });

async function run(args: string[], timeoutMs = 120_000) {
  const p = Bun.spawn([FERRY, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out, err };
}

/** Every record of a topic, read through ferry's fetch decoder (the headers as their pairs). */
async function readAll(topic: string, expected: number) {
  const consumer = kafka.consumer({ groupId: uniqueName("dlq-reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { offset: number; key: Buffer | null; value: Buffer | null; pairs: [string, string | null][] }[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push({ offset: Number(message.offset), key: message.key, value: message.value, pairs: headerPairsOf(message.headers).map(([n, v]) => [n.toString("utf8"), v === null ? null : v.toString("utf8")]) });
    },
  });
  for (const until = Date.now() + 30_000; out.length < expected && Date.now() < until; ) await Bun.sleep(100);
  await consumer.disconnect();
  return out.sort((a, b) => a.offset - b.offset);
}

test("bombs in every codec, hostile headers and an oversized record: the sink dead-letters them and stores the rest", async () => {
  const topic = uniqueName("hostile");
  const group = uniqueName("g");
  const dataDir = join(work, "data");
  const admin = kafka.admin();
  await admin.connect();
  // The source topic takes a 2 MiB record; the dead-letter topic (created by the sink) keeps Kafka's 1 MiB default.
  await createTopics(admin, [{ topic, numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: String(4 << 20) }] }]);
  await admin.disconnect();

  const plain = await openProducer(kafka, [topic], log);
  let good = 0;
  const sendGood = (n: number) => plain.send(topic, Array.from({ length: n }, () => ({ key: `o-${good}`, value: order(good++) })), 30_000);
  await sendGood(10);
  // Compression bombs: one valid record of 32 MiB of zeros, each codec (the broker accepts them).
  for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
    const p = await openProducer(kafka, [topic], log, { compression });
    await p.send(topic, [{ key: `bomb-${compression}`, value: Buffer.alloc(32 << 20) }], 60_000);
    await p.close(10_000);
    await sendGood(5);
  }
  const hostileHeaders: HeaderList = [
    ["__proto__", "p"],
    ["constructor", null],
    ["a", "1"],
    ["a", null],
    ["__proto__", "q"],
  ];
  await plain.send(topic, [{ key: "hostile-headers", value: "not an order", headers: hostileHeaders }], 30_000);
  // A valid order with the same headers is stored like any other.
  await plain.send(topic, [{ key: `o-${good}`, value: order(good++), headers: hostileHeaders }], 30_000);
  await plain.send(topic, [{ key: "too-big", value: "x".repeat(2 << 20) }], 30_000);
  await sendGood(5);
  await plain.close(10_000);

  const sink = await run(["sink", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--group", group, "--data-dir", dataDir, "--until-caught-up", "--interval", "300ms", "--max-inflated-bytes", String(LIMIT)]);
  expect(sink.err).not.toContain('"level":"error"');
  expect(sink.code).toBe(0);
  expect(sink.err).toContain("record batch refused: sent to the dead-letter topic as a pointer");

  const count = await run(["query", "--data-dir", dataDir, "--format", "csv", "select count(*) as n, count(distinct order_id) as ids from orders"]);
  expect(count.code).toBe(0);
  expect(count.out).toBe(`n,ids\n${good},${good}\n`);

  const dlq = await readAll(`${topic}.dlq`, 6);
  expect(dlq.length).toBe(6);
  const ferry = (pairs: [string, string | null][]) => Object.fromEntries(pairs.filter(([n]) => n.startsWith("ferry.")));

  const bombs = dlq.filter((m) => ferry(m.pairs)[DLQ_HEADERS.reason]?.includes("inflates beyond"));
  expect(bombs.map((m) => ferry(m.pairs)[DLQ_HEADERS.reason]!.match(/: (\w+) batch inflates beyond (\d+) bytes/)?.slice(1))).toEqual([
    ["gzip", String(LIMIT)],
    ["snappy", String(LIMIT)],
    ["lz4", String(LIMIT)],
    ["zstd", String(LIMIT)],
  ]);
  for (const [i, b] of bombs.entries()) {
    expect([b.key, b.value]).toEqual([null, null]);
    const h = ferry(b.pairs);
    expect(h).toMatchObject({ [DLQ_HEADERS.topic]: topic, [DLQ_HEADERS.partition]: "0", [DLQ_HEADERS.offset]: String(10 + i * 6), [DLQ_HEADERS.lastOffset]: String(10 + i * 6) });
    expect(Number(h[DLQ_HEADERS.bytes])).toBeLessThan(2 << 20); // snappy inflates ~21x at most; the others far more
  }

  const withHeaders = dlq.find((m) => m.key?.toString() === "hostile-headers")!;
  expect(withHeaders.value?.toString()).toBe("not an order");
  expect(withHeaders.pairs.slice(0, 5)).toEqual(hostileHeaders as [string, string | null][]);
  expect(withHeaders.pairs.slice(5).map(([n]) => n)).toEqual([DLQ_HEADERS.reason, DLQ_HEADERS.topic, DLQ_HEADERS.partition, DLQ_HEADERS.offset]);

  const big = dlq.find((m) => ferry(m.pairs)[DLQ_HEADERS.reason]?.includes("max.message.bytes"))!;
  expect([big.key, big.value]).toEqual([null, null]);
  expect(Number(ferry(big.pairs)[DLQ_HEADERS.bytes])).toBeGreaterThan(2 << 20);
  expect(Buffer.byteLength(ferry(big.pairs)[DLQ_HEADERS.reason]!)).toBeLessThanOrEqual(1024);
}, 240_000);
