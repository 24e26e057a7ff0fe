/**
 * bench/generate: `ferry generate` orders into Kafka (6 partitions, acks=all, idempotent) against
 * Kafka's own ProducerPerformance (kafka-producer-perf-test) with the same record size on the same
 * broker, in the same run. Prints both and the ratio, writes bench/results/generate.json.
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
  const perf = kafkaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--topic", `bench-gen-ref-${stamp}`, "--num-records", String(records), "--record-size", String(recordBytes), "--throughput", "-1",
    "--producer-props", `bootstrap.servers=${brokers}`, "acks=all", "linger.ms=5", "batch.size=262144",
  ]);
  const last = perf.trim().split("\n").filter((l) => l.includes("records/sec")).at(-1)!;
  const refRate = Number(/([\d.]+) records\/sec/.exec(last)![1]);
  const ratio = round(rate / refRate, 3);
  console.log(`ferry generate → kafka: ${records} orders in ${round(seconds, 2)} s = ${round(rate)} records/s (process start to exit)`);
  console.log(`reference: kafka ProducerPerformance ${round(refRate)} records/s (${recordBytes} B, acks=all)`);
  console.log(`ratio ferry/ProducerPerformance = ${ratio}`);
  writeResult("generate", { records, ferry_records_per_sec: round(rate), reference_producer_perf_records_per_sec: round(refRate), ratio, record_bytes: recordBytes });
} finally {
  stopKafka();
}
