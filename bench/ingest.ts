/**
 * bench/ingest: the HTTP ingress under load, on loopback, with wrk (Debian package).
 *  (a) `ferry serve` single-order POSTs at 64 connections: orders/s, p50/p99 latency
 *  (b) `ferry serve` NDJSON bodies of 1000 orders: orders/s
 *  (c) Kafka's own ProducerPerformance on the same broker (same record size, acks=all): records/s,
 *      the reference (b) is reported against
 *  (d) `ferry run` single-order POSTs at 64 connections
 * Peak RSS of ferry (VmHWM) for each. Uses dist/ferry (the product), starts Kafka if needed.
 *   bun bench/ingest.ts [seconds]
 * With --status-cost: `ferry run` under (d)'s load with the status page's event stream open vs
 * closed instead (bench/status-cost.ts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureWrk, loadScripts, RECORD_BYTES, withFerry, wrk as wrkFor } from "./http-load.ts";
import { BROKERS as brokers, createTopic, ensureKafka, kafkaTool, round, sh, writeResult } from "./lib.ts";

if (process.argv.includes("--status-cost")) {
  // The status page's cost instead: see bench/status-cost.ts.
  await import("./status-cost.ts");
  process.exit(0);
}

const seconds = Number(process.argv[2] ?? 15);
const work = mkdtempSync(join(tmpdir(), "ferry-bench-ingest-"));

ensureWrk();
const stopKafka = ensureKafka();

const { singleLua, ndjsonLua } = loadScripts(work);
const wrk = (url: string, script: string, connections: number, threads = 1) => wrkFor(url, script, connections, seconds, threads);

function producerPerf(topic: string, records: number) {
  const out = kafkaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--topic", topic, "--num-records", String(records), "--record-size", String(RECORD_BYTES), "--throughput", "-1",
    "--producer-props", `bootstrap.servers=${brokers}`, "acks=all", "linger.ms=5", "batch.size=262144",
  ]);
  const last = out.trim().split("\n").at(-1)!;
  return { recordsPerSec: Number(/([\d.]+) records\/sec/.exec(last)![1]), p99ms: Number(/([\d.]+) ms 99th/.exec(last)![1]), summary: last };
}

const stamp = Date.now().toString(36);
const serveArgs = (topic: string) => ["serve", "--brokers", brokers, "--topic", topic, "--port", "0", "--partitions", "6"];
console.log(`record size ${RECORD_BYTES} bytes, ${seconds}s per load, wrk on loopback`);

const a = await withFerry(serveArgs(`bench-a-${stamp}`), (url) => wrk(url, singleLua, 64));
const aOrders = round(a.requestsPerSec);
console.log(`(a) serve, single-order POSTs, 64 conns: ${aOrders} orders/s, p50 ${a.p50ms} ms, p99 ${a.p99ms} ms, non-2xx ${a.non2xx}, peak RSS ${a.peak_rss_mb} MB`);

const b = await withFerry(serveArgs(`bench-b-${stamp}`), (url) => wrk(url, ndjsonLua, 8));
const bOrders = round(b.requestsPerSec * 1000);
console.log(`(b) serve, NDJSON x1000, 8 conns: ${bOrders} orders/s, p50 ${b.p50ms} ms, p99 ${b.p99ms} ms, non-2xx ${b.non2xx}, peak RSS ${b.peak_rss_mb} MB`);

createTopic(`bench-c-${stamp}`, 6);
const c = producerPerf(`bench-c-${stamp}`, Math.max(500_000, Math.round(bOrders * seconds)));
console.log(`(c) kafka ProducerPerformance, acks=all, ${RECORD_BYTES} B: ${round(c.recordsPerSec)} records/s (p99 ${c.p99ms} ms)`);

// (c) leaves gigabytes of Kafka's log dirty in the page cache; its writeback would sit in front of
// every fsync of (d). Flush it first, so (d) measures ferry run, not Kafka's leftovers.
sh(["sync"]);
const d = await withFerry(["run", "--data-dir", join(work, "run-data"), "--port", "0"], (url) => wrk(url, singleLua, 64));
console.log(`(d) run, single-order POSTs, 64 conns: ${round(d.requestsPerSec)} orders/s, p50 ${d.p50ms} ms, p99 ${d.p99ms} ms, non-2xx ${d.non2xx}, peak RSS ${d.peak_rss_mb} MB`);

const ratio = round(bOrders / c.recordsPerSec, 3);
console.log(`ratio (b)/(c) = ${ratio} (target ≥ 0.6: ${ratio >= 0.6 ? "met" : "MISSED"})`);
console.log(`(a) target ≥ 25000 orders/s with p99 ≤ 20 ms: ${aOrders >= 25_000 && a.p99ms <= 20 ? "met" : "MISSED"}`);
const dOrders = round(d.requestsPerSec);
console.log(`(d) target ≥ 30000 orders/s, p99 ≤ 20 ms, peak RSS ≤ 256 MB: ${dOrders >= 30_000 && d.p99ms <= 20 && d.peak_rss_mb <= 256 ? "met" : "MISSED"}`);
writeResult("ingest", {
  seconds,
  record_bytes: RECORD_BYTES,
  a_serve_single: { orders_per_sec: aOrders, ...a },
  b_serve_ndjson_1000: { orders_per_sec: bOrders, ...b },
  c_kafka_producer_perf: c,
  d_run_single: { orders_per_sec: round(d.requestsPerSec), ...d },
  ratio_b_to_c: ratio,
  targets: { a_orders_per_sec: 25_000, a_p99_ms: 20, b_ratio: 0.6, d_orders_per_sec: 30_000, d_p99_ms: 20, peak_rss_mb: 256 },
});
stopKafka();
