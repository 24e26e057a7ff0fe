/**
 * bench/generate: `ferry generate` orders into Kafka (6 partitions, acks=all, idempotent) against
 * Kafka's own ProducerPerformance (kafka-producer-perf-test) with the same record size and count on
 * the same broker, in the same run. Both are timed wall to wall (process start to exit: what a user
 * waits for); ProducerPerformance's own steady-state count is reported beside it. Prints both and
 * the ratios, writes bench/results/generate.json.
 *   bun bench/generate.ts [records]
 */
import { createGenerator } from "../src/sources/generator.ts";
import { BROKERS as brokers, createTopic, ensureKafka, FERRY_BIN as bin, kafkaTool, round, run, writeResult } from "./lib.ts";

const records = Number(process.argv[2] ?? 500_000);
const stamp = Date.now().toString(36);

const stopKafka = ensureKafka();
try {
  const t0 = performance.now();
  const out = run([bin, "generate", "--brokers", brokers, "--topic", `bench-gen-${stamp}`, "--count", String(records), "--batch", "5000"]).stderr;
  const seconds = (performance.now() - t0) / 1000;
  const accepted = Number(/"accepted":(\d+)/.exec(out)?.[1]);
  if (accepted !== records) throw new Error(`expected ${records} accepted: ${out}`);
  const rate = records / seconds;
  // The reference sends records of a generated order's average size.
  const gen = createGenerator({ kind: "orders", seed: 1, invalidRatio: 0 });
  let total = 0;
  for (let i = 0; i < 10_000; i++) total += gen.next().json.length;
  const recordBytes = Math.round(total / 10_000);
  createTopic(`bench-gen-ref-${stamp}`, 6);
  const t1 = performance.now();
  const perf = kafkaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--topic", `bench-gen-ref-${stamp}`, "--num-records", String(records), "--record-size", String(recordBytes), "--throughput", "-1",
    "--producer-props", `bootstrap.servers=${brokers}`, "acks=all", "linger.ms=5", "batch.size=262144",
  ]);
  const refWall = records / ((performance.now() - t1) / 1000);
  const last = perf.trim().split("\n").filter((l) => l.includes("records/sec")).at(-1)!;
  const refRate = Number(/([\d.]+) records\/sec/.exec(last)![1]);
  const ratio = round(rate / refWall, 3);
  const ratioSteady = round(rate / refRate, 3);
  console.log(`ferry generate → kafka: ${records} orders in ${round(seconds, 2)} s = ${round(rate)} records/s (process start to exit)`);
  console.log(`reference: kafka ProducerPerformance ${round(refWall)} records/s wall (JVM start to exit), ${round(refRate)} records/s by its own count (${recordBytes} B, acks=all)`);
  console.log(`ratio ferry/ProducerPerformance = ${ratio} wall to wall (target 0.9); ${ratioSteady} against its own count`);
  writeResult("generate", {
    records,
    ferry_records_per_sec: round(rate),
    reference_producer_perf_wall_records_per_sec: round(refWall),
    reference_producer_perf_records_per_sec: round(refRate),
    ratio,
    ratio_to_reference_own_count: ratioSteady,
    record_bytes: recordBytes,
    target_ratio: 0.9,
  });
} finally {
  stopKafka();
}
