/**
 * bench/ingest: the HTTP ingress under load, on loopback, with wrk (Debian package).
 *  (a) `ferry serve` single-order POSTs at 64 connections: orders/s, p50/p99 latency
 *  (b) `ferry serve` NDJSON bodies of 1000 orders: orders/s
 *  (c) Kafka's own ProducerPerformance on the same broker (same record size, acks=all): records/s,
 *      the reference (b) is reported against
 *  (d) `ferry run` single-order POSTs at 64 connections
 * Peak RSS of ferry (VmHWM) for each. Uses dist/ferry (the product), starts Kafka if needed.
 *   bun bench/ingest.ts [seconds]
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BROKERS as brokers, createTopic, ensureKafka, FERRY_BIN as bin, kafkaTool, round, sh, writeResult } from "./lib.ts";

const seconds = Number(process.argv[2] ?? 15);
const work = mkdtempSync(join(tmpdir(), "ferry-bench-ingest-"));

if (Bun.spawnSync(["which", "wrk"]).exitCode !== 0) sh(["bash", "-c", "apt-get update -qq && apt-get install -y -qq wrk"]);
const stopKafka = ensureKafka();

const ORDER = (id: string) => `{"order_id":"${id}","product":"Arabica coffee beans 1kg","quantity":3,"price":12.5,"customer_id":"customer-0042"}`;
const RECORD_BYTES = ORDER("b0-000000000").length;

const singleLua = join(work, "single.lua");
writeFileSync(
  singleLua,
  `counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/orders", {["Content-Type"]="application/json"},
    '{"order_id":"b' .. counter .. '-x","product":"Arabica coffee beans 1kg","quantity":3,"price":12.5,"customer_id":"customer-0042"}')
end
`,
);
const ndjsonLua = join(work, "ndjson.lua");
const ndjsonBody = Array.from({ length: 1000 }, (_, i) => ORDER(`n${String(i).padStart(9, "0")}`)).join("\n");
writeFileSync(
  ndjsonLua,
  `wrk.method = "POST"
wrk.path = "/orders"
wrk.headers["Content-Type"] = "application/x-ndjson"
wrk.body = ${JSON.stringify(ndjsonBody)}
`,
);

interface WrkResult {
  requestsPerSec: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: string;
}

function parseLatency(s: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s)!;
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

function wrk(url: string, script: string, connections: number, threads = 1): WrkResult {
  const out = sh(["wrk", "-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--latency", "-s", script, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const p50 = parseLatency(/\n\s+50%\s+(\S+)/.exec(out)![1]!);
  const p99 = parseLatency(/\n\s+99%\s+(\S+)/.exec(out)![1]!);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? "";
  return { requestsPerSec: rps, p50ms: round(p50, 2), p99ms: round(p99, 2), non2xx, errors };
}

async function withFerry<T>(args: string[], f: (url: string, pid: number) => Promise<T> | T): Promise<T & { peak_rss_mb: number }> {
  const proc = Bun.spawn([bin, ...args], { stdout: "ignore", stderr: "pipe", env: { ...process.env, FERRY_LOG_LEVEL: "notice" } });
  let err = "";
  const dec = new TextDecoder();
  let url = "";
  for await (const chunk of proc.stderr) {
    err += dec.decode(chunk);
    const m = /"url":"([^"]+)"/.exec(err);
    if (m) {
      url = m[1]!;
      break;
    }
  }
  if (!url) throw new Error(`ferry did not start: ${err}`);
  (async () => {
    for await (const _ of proc.stderr);
  })();
  try {
    const result = await f(url, proc.pid);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))!;
    return { ...result, peak_rss_mb: round(Number(hwm[1]) / 1024) };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

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
