/**
 * bench/sink: `ferry sink` from empty to fully caught up over a preloaded topic.
 *  - preload N orders (~160 bytes each) into a 6-partition topic (ferry's own producer)
 *  - reference: Kafka's own ConsumerPerformance (kafka-consumer-perf-test) reads the same topic
 *  - ferry: `dist/ferry sink --until-caught-up` into a fresh data dir (lake + orders table),
 *    three times each, in turns with the reference (medians compared; every run printed),
 *    wall time from spawn to exit, peak RSS (VmHWM, sampled), the lake/table counts checked, and
 *    the per-phase split from the sink's "batch written" lines
 *  - the same N orders into a lake on S3 (S3Proxy from scripts/services/s3proxy, on this host):
 *    records/s next to the local lake's
 *  - with --big M: M more orders (other ids) in a second topic, drained into a second data dir
 *    (the RSS must stay as flat as for N), then the N orders drained into that same data dir:
 *    the table's cost when it already holds M rows, next to the empty-table figure
 * Prints the figures and the ratios, writes bench/results/sink.json.
 *   bun bench/sink.ts [records] [--big M]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafka } from "../src/kafka/client.ts";
import { openProducer } from "../src/kafka/producer/index.ts";
import { createTopics } from "../src/kafka/topics.ts";
import { createLogger } from "../src/log/logger.ts";
import { BROKERS as brokers, ensureKafka, ensureService, FERRY_BIN as bin, kafkaTool, median, round, sh, writeResult } from "./lib.ts";

const args = process.argv.slice(2);
const bigAt = args.indexOf("--big");
const big = bigAt >= 0 ? Number(args[bigAt + 1]) : 0;
const records = Number(args.filter((_, i) => i !== bigAt && i !== bigAt + 1)[0] ?? 1_000_000);
const work = mkdtempSync(join(tmpdir(), "ferry-bench-sink-"));
const stamp = Date.now().toString(36);
const log = createLogger("error", (line) => process.stderr.write(line), { mode: "bench" });

/** Produces `count` orders with ids `<prefix>-<n>` into a new 6-partition topic; answers the mean value size. */
async function preload(topic: string, prefix: string, count: number): Promise<number> {
  const kafka = createKafka({ brokers: [brokers], clientId: "ferry-bench" }, log);
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [{ topic, numPartitions: 6 }]);
  await admin.disconnect();
  const producer = await openProducer(kafka, [topic], log);
  const t0 = performance.now();
  let bytes = 0;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 10_000) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + 10_000); j++) {
      const id = `${prefix}-${String(j).padStart(9, "0")}`;
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
    pending.push(producer.send(topic, messages, 120_000));
    if (pending.length >= 8) await pending.shift();
  }
  await Promise.all(pending);
  await producer.close(120_000);
  console.log(`preloaded ${count} orders (${Math.round(bytes / count)} B each) into ${topic} (6 partitions) in ${round((performance.now() - t0) / 1000)} s`);
  return Math.round(bytes / count);
}

interface SinkRun {
  records_per_sec: number;
  seconds: number;
  peak_rss_mb: number;
  phases: { batches: number; load_ms: number; lake_ms: number; table_ms: number; batch_ms: number; settlings: number; settling_ms: number };
}

/** `ferry sink --until-caught-up` over `topic` into `dataDir`; checks the lake and table hold `expectRows`. */
async function drain(label: string, topic: string, count: number, dataDir: string, expectRows: number, lakeArgs: string[] = [], env: Record<string, string> = {}): Promise<SinkRun> {
  // The preload's and the last run's writeback would otherwise sit in front of this run's fsyncs
  // (lake files, DuckDB's log): flushed first, so each run measures itself.
  sh(["sync"]);
  const s0 = performance.now();
  // One consumer group per data dir (its lake belongs to that group), new to Kafka: from the start.
  const group = `ferry-bench-${stamp}-${dataDir.split("/").at(-1)}`;
  const proc = Bun.spawn([bin, "sink", "--brokers", brokers, "--topic", topic, "--group", group, "--data-dir", dataDir, "--until-caught-up", "--log-level", "info", ...lakeArgs], { stdout: "ignore", stderr: "pipe", env: { ...process.env, ...env } });
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
  const count1 = (sql: string) => Number(sh([bin, "query", "--data-dir", dataDir, "--format", "csv", sql]).trim().split("\n").at(-1));
  const lakeRows = lakeArgs.length > 0 ? expectRows : count1("select count(*) from lake"); // an S3 lake: counted by the files below
  const tableRows = count1("select count(*) from orders");
  if (lakeRows !== expectRows || tableRows !== expectRows) throw new Error(`expected ${expectRows} rows, lake has ${lakeRows}, table ${tableRows}`);
  // Per-phase split, from the sink's "batch written" lines. The lake phase of a batch runs beside
  // the table phase of the one before (two DuckDB connections), so the sums overlap in time.
  const phases = { batches: 0, load_ms: 0, lake_ms: 0, table_ms: 0, batch_ms: 0, settlings: 0, settling_ms: 0 };
  for (const line of (await stderr).split("\n")) {
    if (line.includes('"msg":"settled the recent orders"')) {
      // Part of the table phase of the batch after it (upkeep of the table, once per ~1–1.5M rows).
      phases.settlings++;
      phases.settling_ms += (JSON.parse(line) as { ms: number }).ms;
    }
    if (!line.includes('"msg":"batch written"')) continue;
    const b = JSON.parse(line) as { ms: number; load?: number; lake?: number; table?: number };
    phases.batches++;
    phases.batch_ms += b.ms;
    phases.load_ms += b.load ?? 0;
    phases.lake_ms += b.lake ?? 0;
    phases.table_ms += b.table ?? 0;
  }
  const run = { records_per_sec: round(count / seconds), seconds: round(seconds, 2), peak_rss_mb: round(peakKb / 1024), phases };
  console.log(`${label}: ${count} records in ${run.seconds} s = ${run.records_per_sec} records/s, peak RSS ${run.peak_rss_mb} MB (lake and table ${expectRows} rows)`);
  console.log(`  phases over ${phases.batches} batches: rows file ${phases.load_ms} ms, lake ${phases.lake_ms} ms, table ${phases.table_ms} ms (of which ${phases.settlings} settlings ${phases.settling_ms} ms; lake and table phases overlap)`);
  return run;
}

const RUNS = 3;
/** The run of median records/s (its RSS and phases with it). */
const medianRun = (runs: SinkRun[]) => [...runs].sort((a, b) => a.records_per_sec - b.records_per_sec)[Math.floor(runs.length / 2)]!;

const stopKafka = ensureKafka();
try {
  const topic = `bench-sink-${stamp}`;
  const recordBytes = await preload(topic, "ord", records);

  // Reference: Kafka's own consumer on the same topic; it and ferry three times each, in turns (this
  // machine's runs spread by ±20%): the medians are compared.
  const perfRates: number[] = [];
  const emptyRuns: SinkRun[] = [];
  for (let run = 1; run <= RUNS; run++) {
    sh(["sync"]);
    const perf = kafkaTool("org.apache.kafka.tools.ConsumerPerformance", [
      "--bootstrap-server", brokers, "--topic", topic, "--messages", String(records), "--group", `perf-${stamp}-${run}`, "--timeout", "60000",
    ]);
    const lines = perf.trim().split("\n");
    const header = lines.find((l) => l.includes("nMsg.sec"))!.split(",").map((s) => s.trim());
    const row = lines.at(-1)!.split(",").map((s) => s.trim());
    perfRates.push(Number(row[header.indexOf("nMsg.sec")]));
    console.log(`reference ${run}: kafka ConsumerPerformance ${round(perfRates.at(-1)!)} records/s (${row[header.indexOf("MB.sec")]} MB/s)`);
    emptyRuns.push(await drain(`ferry sink ${run}, empty table`, topic, records, join(work, `empty-${run}`), records));
  }
  const perfRate = median(perfRates);
  const empty = medianRun(emptyRuns);
  const ratio = round(empty.records_per_sec / perfRate, 3);
  console.log(`medians: ConsumerPerformance ${round(perfRate)} records/s, ferry ${empty.records_per_sec} records/s (runs: ${emptyRuns.map((r) => r.records_per_sec).join(", ")}), peak RSS of the runs ${Math.max(...emptyRuns.map((r) => r.peak_rss_mb))} MB; ratio ferry/ConsumerPerformance = ${ratio}`);

  // The same orders into a lake on S3 (an S3-compatible server on this host).
  const stopS3 = ensureService("s3proxy");
  let s3Run: SinkRun;
  try {
    const prefix = `bench-${stamp}`;
    s3Run = await drain("ferry sink, lake on S3", topic, records, join(work, "s3"), records, ["--lake", `s3://ferry-lake/${prefix}`, "--s3-path-style"], {
      AWS_ACCESS_KEY_ID: "ferry",
      AWS_SECRET_ACCESS_KEY: "ferry-test-secret",
      AWS_ENDPOINT_URL: `http://127.0.0.1:${process.env.S3PROXY_PORT ?? 9000}`,
    });
    console.log(`S3 lake vs local lake: ${s3Run.records_per_sec} vs ${empty.records_per_sec} records/s (x${round(s3Run.records_per_sec / empty.records_per_sec, 2)})`);
  } finally {
    stopS3();
  }

  let bigRuns: { drain: SinkRun; into_big_table: SinkRun; table_cost_ratio: number; table_cost_ratio_without_settling: number } | undefined;
  if (big > 0) {
    const bigTopic = `bench-sink-big-${stamp}`;
    await preload(bigTopic, "big", big);
    const dir = join(work, "big");
    const bigDrain = await drain(`ferry sink, ${big} records`, bigTopic, big, dir, big);
    const into = await drain(`ferry sink, into a table of ${big} rows`, topic, records, dir, big + records);
    const tableCost = round(into.phases.table_ms / Math.max(1, empty.phases.table_ms), 2);
    const withoutSettling = round((into.phases.table_ms - into.phases.settling_ms) / Math.max(1, empty.phases.table_ms - empty.phases.settling_ms), 2);
    console.log(`table phase into ${big} rows vs empty: ${into.phases.table_ms} ms vs ${empty.phases.table_ms} ms (x${tableCost}; without settling x${withoutSettling}); records/s ${into.records_per_sec} vs ${empty.records_per_sec}`);
    bigRuns = { drain: bigDrain, into_big_table: into, table_cost_ratio: tableCost, table_cost_ratio_without_settling: withoutSettling };
  }

  writeResult("sink", {
    records,
    record_bytes: recordBytes,
    partitions: 6,
    ferry_records_per_sec: empty.records_per_sec,
    ferry_runs_records_per_sec: emptyRuns.map((r) => r.records_per_sec),
    reference_runs_records_per_sec: perfRates.map((r) => round(r)),
    ferry_seconds: empty.seconds,
    ferry_peak_rss_mb: Math.max(...emptyRuns.map((r) => r.peak_rss_mb)), // the highest of the runs
    reference_consumer_perf_records_per_sec: round(perfRate),
    ratio,
    phases: empty.phases,
    s3_lake: s3Run,
    ...(bigRuns ? { big: { records: big, ...bigRuns } } : {}),
    targets: { records_per_sec: 200_000, peak_rss_mb: 512 },
  });
} finally {
  rmSync(work, { recursive: true, force: true });
  stopKafka();
}
