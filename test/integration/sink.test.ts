/**
 * `ferry sink` against the real broker: known orders (with duplicates and invalid records) land in
 * the lake and the orders table exactly once, row by row; kill -9 at every point of a batch and
 * the totals stay exact; two sinks in one group split the work exactly; every codec is read.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Kafka, Producer } from "kafkajs";
import { openDb } from "../../src/db/duckdb.ts";
import { createKafka } from "../../src/kafka/client.ts";
import { FAULT_POINTS } from "../../src/lake/batch-store.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { TEST_BROKERS, uniqueName } from "../helpers/servers.ts";
import { catalogOffsets, committedOffsets, crashAtEveryPoint, endOffsets, expectLakeExact, expectTableExact, produceKnown, queryCatalog, readLake, readTable, runSink, startSink, waitCommittedToEnd } from "../helpers/sink.ts";
import { createTestTopic, topicReader } from "../helpers/topic-reader.ts";

const kafka: Kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
let producer: Producer;
const work = mkdtempSync(join(tmpdir(), "ferry-sink-test-"));

beforeAll(async () => {
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
  rmSync(work, { recursive: true, force: true });
});

const createTopic = (topic: string, partitions: number) => createTestTopic(kafka, topic, partitions);

describe("ferry sink", () => {
  test("known orders land in the lake and the table row by row; invalid ones go to <topic>.dlq with reasons", async () => {
    const topic = uniqueName("sink");
    const group = uniqueName("g");
    const dataDir = join(work, "rows");
    await createTopic(topic, 3);
    const startedAt = Date.now();
    const produced = await produceKnown(producer, topic, 400);
    // No maintenance: it would flush the inlined batches into files, which this test tells apart.
    const run = await runSink(["--topic", topic, "--group", group, "--data-dir", dataDir, "--max-records", "60", "--interval", "300ms", "--until-caught-up", "--maintain-every", "0"]);
    expect(run.stderr).not.toContain('"level":"error"');
    expect(run.code).toBe(0);

    // The lake, read through its catalog by a separate DuckDB: every valid record once, with the contract's types.
    const lake = await readLake(dataDir);
    expectLakeExact(lake.rows, produced);
    expect(lake.types).toMatchObject({ price: "DECIMAL(12,2)", quantity: "INTEGER", ordered_at: "TIMESTAMP WITH TIME ZONE", ingested_at: "TIMESTAMP WITH TIME ZONE", kafka_topic: "VARCHAR", kafka_partition: "INTEGER", kafka_offset: "BIGINT", date: "DATE" });
    expect(lake.rows.every((r) => r.kafka_topic === topic)).toBe(true);
    // ordered_at keeps its microseconds; a missing one is the record's Kafka timestamp.
    const withTime = lake.rows.find((r) => r.order_id === "o-1")!;
    expect(String(withTime.ordered_at)).toBe("2026-11-19 08:01:00.123456+00");
    const defaulted = lake.rows.filter((r) => !produced.valid.find((o) => o.order_id === r.order_id && o.ordered_at));
    expect(defaulted.length).toBeGreaterThan(0);
    for (const r of defaulted) expect(Math.abs(Date.parse(String(r.ordered_at).replace(" ", "T").replace(/\+00$/, "Z")) - startedAt)).toBeLessThan(120_000);
    for (const r of lake.rows) expect(r.date).toBe(String(r.ordered_at).slice(0, 10));

    // Batches this small (60 records at most) stay inlined in the catalog: no data file yet (the S3 test checks the files).
    expect((await queryCatalog(dataDir, "SELECT count(*)::INT AS n FROM ducklake_list_files('ferry_lake', 'lake')")).rows[0]).toEqual({ n: 0 });

    // The table: the latest version of each order, with lineage.
    const table = await readTable(dataDir);
    expectTableExact(table, produced);
    expect(table.every((r) => r.kafka_topic === topic)).toBe(true);

    // Offsets: in the catalog and committed to Kafka up to the end of every partition.
    const ends = await endOffsets(kafka, topic);
    expect(await catalogOffsets(dataDir, topic)).toEqual(ends);
    expect(await committedOffsets(kafka, group, topic)).toEqual(ends);

    // Dead letters: each invalid record once, unchanged, with why and where from.
    const dlq = await topicReader(kafka, `${topic}.dlq`);
    await dlq.caughtUp();
    await dlq.close();
    expect(dlq.messages.map((m) => m.key).sort()).toEqual(produced.invalid.map((b) => b.key).sort());
    const headers = await dlqHeaders(`${topic}.dlq`);
    for (const h of headers) {
      expect(h["ferry.source.topic"]).toBe(topic);
      expect(Number(h["ferry.source.offset"])).toBeGreaterThanOrEqual(0);
      expect(h["ferry.error"]).toMatch(/not JSON|price: must not be negative|unknown field "colour"|tombstone|quantity: must be an integer|ordered_at: must not be before 1900/);
    }
    const reasons = new Set(headers.map((h) => h["ferry.error"]!.replace(/:.*$/, "")));
    expect(reasons.size).toBeGreaterThanOrEqual(4);
    expect(headers.some((h) => /ordered_at: must not be before 1900-01-01T00:00:00Z/.test(h["ferry.error"]!))).toBe(true);

    // ferry query sees the catalog's `orders` and `lake`.
    const q = Bun.spawnSync([process.execPath, resolve(import.meta.dir, "../../src/main.ts"), "query", "--data-dir", dataDir, "--format", "json", "select count(*)::INT as n from lake where date = '2026-11-19'"]);
    expect(q.exitCode).toBe(0);
    expect(JSON.parse(q.stdout.toString())).toEqual({ n: lake.rows.filter((r) => String(r.date ?? "") === "2026-11-19").length });
  }, 120_000);

  test("kill -9 at every point of a batch, over and over: no row missing, none twice, in the lake or the table", async () => {
    const topic = uniqueName("sink-crash");
    const group = uniqueName("g");
    const dataDir = join(work, "crash");
    await createTopic(topic, 3);
    const produced = await produceKnown(producer, topic, 600);
    const args = ["--topic", topic, "--group", group, "--data-dir", dataDir, "--max-records", "40", "--interval", "200ms", "--until-caught-up", "--session-timeout", "6s"];
    const killed = await crashAtEveryPoint(args);
    expect(killed).toBeGreaterThanOrEqual(FAULT_POINTS.length * 2 - 1);
    const last = await runSink(args);
    expect(last.code).toBe(0);
    expectLakeExact((await readLake(dataDir)).rows, produced);
    expectTableExact(await readTable(dataDir), produced);
    expect(await committedOffsets(kafka, group, topic)).toEqual(await endOffsets(kafka, topic));
  }, 300_000);

  test("two sinks in one group over a 6-partition topic while producing: the union of their outputs is exact", async () => {
    const topic = uniqueName("sink-group");
    const group = uniqueName("g");
    await createTopic(topic, 6);
    const dirs = [join(work, "group-a"), join(work, "group-b")];
    // One lake for both: a SQLite catalog (several processes on one host) and one data folder.
    const shared = { dataDir: join(work, "group-lake"), catalog: `sqlite:${join(work, "group.sqlite")}` };
    const common = ["--topic", topic, "--group", group, "--max-records", "50", "--interval", "200ms", "--catalog", shared.catalog, "--lake", join(shared.dataDir, "lake")];
    let producing = true;
    let sent = 0;
    const ids: string[] = [];
    const producerLoop = (async () => {
      while (producing) {
        const batch = Array.from({ length: 40 }, (_, i) => `g-${sent + i}`);
        await producer.send({ topic, acks: -1, messages: batch.map((id) => ({ key: id, value: JSON.stringify({ order_id: id, product: "tea", quantity: 1, price: 1.5 }) })) });
        ids.push(...batch);
        sent += batch.length;
        await Bun.sleep(20);
      }
    })();
    const a = startSink([...common, "--data-dir", dirs[0]!]);
    await Bun.sleep(2500);
    const b = startSink([...common, "--data-dir", dirs[1]!]); // joins: rebalance
    await Bun.sleep(4000);
    const aStopped = await a.stop(); // leaves: rebalance, b takes everything
    expect(aStopped.code).toBe(0);
    await Bun.sleep(2500);
    producing = false;
    await producerLoop;
    // Wait until b has committed everything, then stop it.
    await waitCommittedToEnd(kafka, group, topic, 60_000);
    const bStopped = await b.stop();
    expect(bStopped.code).toBe(0);
    expect(aStopped.stderr + bStopped.stderr).not.toContain('"level":"error"');

    const lake = await readLake(shared);
    const offsets = lake.rows.map((r) => `${r.kafka_partition}/${r.kafka_offset}`);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(lake.rows.map((r) => String(r.order_id)).sort()).toEqual([...ids].sort());
    // One orders for all: the catalog's view over the one lake.
    expect((await readTable(shared)).map((r) => String(r.order_id)).sort()).toEqual([...ids].sort());
    // Both did work (the rebalances moved partitions between them): each named itself in the offsets it moved.
    // Both did work (the rebalances moved partitions between them): each batch's snapshot names its writer.
    const writers = await queryCatalog(shared, "SELECT DISTINCT author FROM ducklake_snapshots('ferry_lake') WHERE author IS NOT NULL");
    expect(writers.rows.length).toBe(2);
  }, 180_000);

  test("metrics per partition while running; SIGTERM writes the open batch, commits and leaves", async () => {
    const topic = uniqueName("sink-metrics");
    const group = uniqueName("g");
    const dataDir = join(work, "metrics");
    await createTopic(topic, 2);
    // A long interval: only the shutdown closes the batch.
    const sink = startSink(["--topic", topic, "--group", group, "--data-dir", dataDir, "--interval", "10m", "--metrics-port", "0"]);
    let url = "";
    for (let i = 0; i < 300 && !url; i++) {
      url = /"msg":"sink started".*?"metrics":"([^"]+)"/.exec(sink.stderr())?.[1] ?? "";
      await Bun.sleep(50);
    }
    expect(url).toStartWith("http://127.0.0.1:");
    const produced = await produceKnown(producer, topic, 100);
    const metric = async (re: RegExp) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return [...text.matchAll(re)];
    };
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
    // Lag is counted from the committed position: fetched records in the open batch are still lag.
    const lagRe = /^ferry_sink_consumer_lag\{topic="([^"]+)",partition="(\d)"\} (\d+)$/gm;
    let lag = await metric(lagRe);
    for (let i = 0; i < 200 && (lag.length < 2 || lag.reduce((s, m) => s + Number(m[3]), 0) < 100); i++) {
      await Bun.sleep(50);
      lag = await metric(lagRe);
    }
    expect(lag.map((m) => [m[1], m[2]]).sort()).toEqual([[topic, "0"], [topic, "1"]]);
    expect(lag.reduce((s, m) => s + Number(m[3]), 0)).toBe(100);
    const stopped = await sink.stop("SIGTERM");
    expect(stopped.code).toBe(0);
    expectLakeExact((await readLake(dataDir)).rows, produced);
    expect(await committedOffsets(kafka, group, topic)).toEqual(await endOffsets(kafka, topic));
  }, 60_000);

  test("batches compressed with gzip, snappy, lz4 and zstd by Kafka's own producer are read", async () => {
    const payloads = join(work, "payloads.txt");
    writeFileSync(payloads, Array.from({ length: 50 }, (_, i) => JSON.stringify({ order_id: `z-${i}`, product: "Arabica coffee beans 1kg ".repeat(3).trim(), quantity: 1 + i, price: 12.5 })).join("\n"));
    const codecs = ["gzip", "snappy", "lz4", "zstd"];
    const topics = codecs.map((c) => uniqueName(`sink-${c}`));
    for (const [i, codec] of codecs.entries()) {
      await createTopic(topics[i]!, 1);
      const p = Bun.spawnSync([
        "bash", resolve(import.meta.dir, "../../scripts/services/kafka"), "tool", "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topics[i]!, "--num-records", "300", "--payload-file", payloads, "--throughput", "-1",
        "--producer-props", `bootstrap.servers=${TEST_BROKERS.join(",")}`, `compression.type=${codec}`, "linger.ms=50", "batch.size=65536",
      ]);
      expect(p.exitCode).toBe(0);
    }
    const dataDir = join(work, "codecs");
    const run = await runSink([...topics.flatMap((t) => ["--topic", t]), "--group", uniqueName("g"), "--data-dir", dataDir, "--until-caught-up", "--interval", "300ms"]);
    expect(run.stderr).not.toContain('"level":"error"');
    expect(run.code).toBe(0);
    for (const t of topics) {
      const r = await queryCatalog(dataDir, `SELECT count(*)::INT AS n, count(DISTINCT kafka_offset)::INT AS d FROM lake WHERE kafka_topic = '${t}'`);
      expect(r.rows[0]).toEqual({ n: 300, d: 300 });
    }
    expect(run.stderr).not.toContain("dead-letter");
  }, 120_000);
});

/** Headers of every record of a dead-letter topic, as strings. */
async function dlqHeaders(topic: string): Promise<Record<string, string>[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("dlq-reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: Record<string, string>[] = [];
  const ends = await endOffsets(kafka, topic);
  const total = [...ends.values()].reduce((s, n) => s + n, 0);
  await new Promise<void>((done) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        out.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
        if (out.length >= total) done();
      },
    });
  });
  await consumer.disconnect();
  return out;
}
