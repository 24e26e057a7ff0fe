/**
 * bench/sink: `ferry sink` from empty to fully caught up over a preloaded topic.
 *  - preload N orders (~150 bytes each) into a 6-partition topic (ferry's kafkajs producer)
 *  - reference: Kafka's own ConsumerPerformance (kafka-consumer-perf-test) reads the same topic
 *  - ferry: `dist/ferry sink --until-caught-up` into a fresh data dir (lake + orders table),
 *    wall time from spawn to exit, peak RSS (VmHWM, sampled), and the lake/table counts checked
 * Prints the figures and the ratio, writes bench/results/sink.json.
 *   bun bench/sink.ts [records]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { BROKERS as brokers, ensureKafka, FERRY_BIN as bin, kafkaTool, round, sh, writeResult } from "./lib.ts";

const records = Number(process.argv[2] ?? 1_000_000);
const work = mkdtempSync(join(tmpdir(), "ferry-bench-sink-"));
const stamp = Date.now().toString(36);
const topic = `bench-sink-${stamp}`;

const stopKafka = ensureKafka();
try {
  // Preload.
  const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  let bytes = 0;
  for (let i = 0; i < records; i += 10_000) {
    const messages = [];
    for (let j = i; j < Math.min(records, i + 10_000); j++) {
      const id = `ord-${String(j).padStart(9, "0")}`;
      const value = JSON.stringify({
        order_id: id,
        product: "Arabica coffee beans 1kg",
        quantity: 1 + (j % 7),
        price: (j % 10_000) / 100,
        customer_id: `customer-${j % 5000}`,
        ordered_at: new Date(Date.UTC(2026, 10, 18 + (j % 3), 12, 0, j % 60)).toISOString(),
      });
      bytes += value.length;
      messages.push({ key: id, value });
    }
    pending.push(producer.send({ topic, acks: -1, messages }));
    if (pending.length >= 8) await pending.shift();
  }
  await Promise.all(pending);
  await producer.disconnect();
  const recordBytes = Math.round(bytes / records);
  console.log(`preloaded ${records} orders (${recordBytes} B each) into ${topic} (6 partitions) in ${round((performance.now() - t0) / 1000)} s`);

  // Reference: Kafka's own consumer on the same topic.
  const perf = kafkaTool("org.apache.kafka.tools.ConsumerPerformance", [
    "--bootstrap-server", brokers, "--topic", topic, "--messages", String(records), "--group", `perf-${stamp}`, "--timeout", "60000",
  ]);
  const lines = perf.trim().split("\n");
  const header = lines.find((l) => l.includes("nMsg.sec"))!.split(",").map((s) => s.trim());
  const row = lines.at(-1)!.split(",").map((s) => s.trim());
  const perfRate = Number(row[header.indexOf("nMsg.sec")]);
  console.log(`reference: kafka ConsumerPerformance ${round(perfRate)} records/s (${row[header.indexOf("MB.sec")]} MB/s)`);

  // ferry sink, from empty to caught up.
  const dataDir = join(work, "data");
  const s0 = performance.now();
  const proc = Bun.spawn([bin, "sink", "--brokers", brokers, "--topic", topic, "--group", `ferry-${stamp}`, "--data-dir", dataDir, "--until-caught-up", "--log-level", "info"], { stdout: "ignore", stderr: "pipe" });
  let peakKb = 0;
  const sampler = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {}
  }, 50);
  const stderr = new Response(proc.stderr).text();
  const code = await proc.exited;
  clearInterval(sampler);
  const seconds = (performance.now() - s0) / 1000;
  if (code !== 0) throw new Error(`ferry sink exited ${code}: ${await stderr}`);
  const rate = records / seconds;
  const peakMb = round(peakKb / 1024);
  const count = (sql: string) => Number(sh([bin, "query", "--data-dir", dataDir, "--format", "csv", sql]).trim().split("\n").at(-1));
  const lakeRows = count("select count(*) from lake");
  const tableRows = count("select count(*) from orders");
  if (lakeRows !== records || tableRows !== records) throw new Error(`expected ${records} rows, lake has ${lakeRows}, table ${tableRows}`);
  const ratio = round(rate / perfRate, 3);
  // Per-phase split, from the sink's "batch written" lines: DuckDB load of the batch, lake COPY, table upsert + commit.
  const phases = { batches: 0, load_ms: 0, lake_ms: 0, table_ms: 0, batch_ms: 0 };
  for (const line of (await stderr).split("\n")) {
    if (!line.includes('"msg":"batch written"')) continue;
    const b = JSON.parse(line) as { ms: number; load?: number; lake?: number; table?: number };
    phases.batches++;
    phases.batch_ms += b.ms;
    phases.load_ms += b.load ?? 0;
    phases.lake_ms += b.lake ?? 0;
    phases.table_ms += b.table ?? 0;
  }
  console.log(`phases over ${phases.batches} batches: load ${phases.load_ms} ms, lake ${phases.lake_ms} ms, table ${phases.table_ms} ms (of ${phases.batch_ms} ms writing; the rest of the ${round(seconds * 1000)} ms wall is fetch + decode overlapping)`);
  console.log(`ferry sink: ${records} records into lake + table in ${round(seconds, 2)} s = ${round(rate)} records/s, peak RSS ${peakMb} MB (lake ${lakeRows} rows, table ${tableRows} rows)`);
  console.log(`ratio ferry/ConsumerPerformance = ${ratio}`);
  writeResult("sink", {
    records,
    record_bytes: recordBytes,
    partitions: 6,
    ferry_records_per_sec: round(rate),
    ferry_seconds: round(seconds, 2),
    ferry_peak_rss_mb: peakMb,
    reference_consumer_perf_records_per_sec: round(perfRate),
    ratio,
    phases,
    targets: { records_per_sec: 200_000, peak_rss_mb: 512 },
  });
} finally {
  rmSync(work, { recursive: true, force: true });
  stopKafka();
}
