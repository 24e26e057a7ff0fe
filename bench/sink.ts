/**
 * bench/sink: `ferry sink --until-caught-up` from empty to caught up over a preloaded topic, side by
 * side in one run, on the same N orders (~160 bytes each, a 6-partition topic, ferry's own producer):
 *  - reference: Kafka's own ConsumerPerformance (kafka-consumer-perf-test) reads the topic;
 *  - release: today's release (--release REV, default 3e4592e, built from this repository into a
 *    temporary folder; or --release-bin PATH) into a fresh data dir (its Parquet lake and its
 *    orders table);
 *  - catalog: this tree's binary (dist/ferry, copied at start so a rebuild meanwhile does not mix
 *    binaries; or --bin PATH) into the default catalog (a DuckDB file <data-dir>/lake.ducklake,
 *    Parquet under <data-dir>/lake/) in a fresh data dir;
 *  - postgres+s3: the same binary, the catalog a fresh PostgreSQL database
 *    (scripts/services/postgres), the lake a fresh prefix on S3 (S3Proxy, scripts/services/s3proxy,
 *    on this host; path-style addressing left to ferry's own choice);
 *  - with --split, the two halves of postgres+s3 apart: postgres+local (PostgreSQL catalog, local
 *    lake) and catalog+s3 (DuckDB-file catalog, lake on S3): which of the two costs what.
 * Before each run the bench waits (up to --quiet-wait seconds, 180) for the machine to be quiet
 * (others' jobs): a run that could not wait says so. RUNS rounds (--runs, default 3), each variant once per round in turns (this machine's runs spread
 * by ±20%): medians compared, every run printed with the load average before it and the CPU time
 * of ferry and of the rest of the machine (Kafka's broker serving the fetches included) during it.
 * Each run: wall time from spawn to exit, peak RSS (VmHWM, sampled every 50 ms), the
 * counts checked through the binary's own `ferry query` (lake and orders), the per-batch split
 * from the sink's "batch written" lines (release: load, lake, table; catalog: load, stage, commit),
 * the startup (spawn to "sink started") and the rate from the first batch to the last.
 * Then the catalog's own cost per batch: a batch's transaction (6 partitions' offsets moved, one
 * row inserted: inlined, no data file) timed on a DuckDB-file and on a PostgreSQL catalog.
 * With --big M: M more orders (other ids) into a second topic, drained by this tree's binary into
 * the default catalog of a second data dir (the RSS must stay as flat as for N), then the N orders
 * drained into that same data dir (the cost of a catalog already holding M rows).
 * Prints the figures and the ratios, writes bench/results/sink.json.
 *   bun bench/sink.ts [records] [--runs 3] [--big M] [--release REV | --release-bin PATH] [--bin PATH]
 *                     [--split] [--quiet-wait SECONDS] [--skip reference,release,catalog,postgres+s3,catalog-cost]
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openDb } from "../src/db/duckdb.ts";
import { createKafka } from "../src/kafka/client.ts";
import { openProducer } from "../src/kafka/producer/index.ts";
import { createTopics } from "../src/kafka/topics.ts";
import { attachCatalog, catalogOf, LAKE_DB } from "../src/lake/catalog.ts";
import { createOffsetsSchema, moveOffsets, type OffsetMove } from "../src/lake/offsets.ts";
import { createLakeTables, lakeTableOf } from "../src/lake/tables.ts";
import { createLogger } from "../src/log/logger.ts";
import { BROKERS as brokers, buildAt, ensureKafka, ensureService, FERRY_BIN, kafkaTool, machineBusySeconds, median, ROOT, round, sh, waitForQuiet, writeResult } from "./lib.ts";

const RELEASE = "3e4592e"; // today's release (issue #20's baseline)
const VARIANTS = ["reference", "release", "catalog", "postgres+s3", "postgres+local", "catalog+s3", "catalog-cost"] as const;
/** This tree's binary: a catalog and a lake each; `split` ones (--split) tell the catalog's share of postgres+s3 from the S3 lake's. */
const CATALOG_VARIANTS: { key: (typeof VARIANTS)[number]; label: string; catalog: "duckdb" | "postgres"; lake: "local" | "s3"; split?: true }[] = [
  { key: "catalog", label: "DuckDB-file catalog, local lake", catalog: "duckdb", lake: "local" },
  { key: "postgres+s3", label: "PostgreSQL catalog, lake on S3", catalog: "postgres", lake: "s3" },
  { key: "postgres+local", label: "PostgreSQL catalog, local lake", catalog: "postgres", lake: "local", split: true },
  { key: "catalog+s3", label: "DuckDB-file catalog, lake on S3", catalog: "duckdb", lake: "s3", split: true },
];
const { values: opt, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "3" },
    big: { type: "string", default: "0" },
    release: { type: "string", default: RELEASE },
    "release-bin": { type: "string" },
    bin: { type: "string" },
    skip: { type: "string", default: "" },
    split: { type: "boolean", default: false },
    "quiet-wait": { type: "string", default: "180" },
  },
});
const records = Number(positionals[0] ?? 1_000_000);
const RUNS = Number(opt.runs);
const big = Number(opt.big);
const quietWait = Number(opt["quiet-wait"]);
const skip = new Set(opt.skip.split(",").filter(Boolean));
for (const s of skip) if (!(VARIANTS as readonly string[]).includes(s)) throw new Error(`--skip ${s}: expected some of ${VARIANTS.join(", ")}`);
const wants = (v: (typeof VARIANTS)[number]) => !skip.has(v);

const work = mkdtempSync(join(tmpdir(), "ferry-bench-sink-"));
const stamp = Date.now().toString(36);
const log = createLogger("error", (line) => process.stderr.write(line), { mode: "bench" });

const S3_ENV = {
  AWS_ACCESS_KEY_ID: "ferry",
  AWS_SECRET_ACCESS_KEY: "ferry-test-secret",
  AWS_ENDPOINT_URL: `http://127.0.0.1:${process.env.S3PROXY_PORT ?? 9000}`,
};
const S3_BUCKET = "ferry-lake"; // made by scripts/services/s3proxy
const PG = { user: process.env.PG_USER ?? "ferry", password: process.env.PG_PASSWORD ?? "ferry-test-secret", port: process.env.PG_PORT ?? "55432" };
const pgUrl = (db: string) => `postgres://${PG.user}:${PG.password}@127.0.0.1:${PG.port}/${db}`;
const psql = (sql: string) => sh(["bash", join(ROOT, "scripts/services/postgres"), "psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]);

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

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

interface Phases {
  batches: number;
  /** Sums over the batches of each timing field of the "batch written" lines (ms). */
  sums: Record<string, number>;
  /** The catalog transaction (commit) or, for the release, the table transaction: per batch, ms. */
  per_batch_commit_ms?: { median: number; mean: number; max: number; all: number[] };
  settlings?: number;
  settling_ms?: number;
}

interface SinkRun {
  records_per_sec: number;
  seconds: number;
  peak_rss_mb: number;
  ferry_cpu_s: number;
  other_cpu_s: number;
  load_before: string;
  /** Cores busy with other work in the second before the run (after waiting for a quiet machine). */
  busy_cores_before: number;
  phases: Phases;
  /** Spawn to the "sink started" line (the catalog attached, its tables made), seconds. */
  startup_s?: number;
  /** Records/s from the first "batch written" line to the last (startup and the first batch left out). */
  steady_records_per_sec?: number;
}

/** When the sink said it started, and the rate between its first and last batch (from the log's timestamps). */
function timingOf(stderr: string, spawnedAt: number): { startup_s?: number; steady_records_per_sec?: number } {
  let started: number | undefined;
  const batches: { at: number; records: number }[] = [];
  for (const line of stderr.split("\n")) {
    if (line.includes('"msg":"sink started"')) started = Date.parse((JSON.parse(line) as { ts: string }).ts);
    if (line.includes('"msg":"batch written"')) {
      const b = JSON.parse(line) as { ts: string; records: number };
      batches.push({ at: Date.parse(b.ts), records: b.records });
    }
  }
  const out: { startup_s?: number; steady_records_per_sec?: number } = {};
  if (started !== undefined) out.startup_s = round((started - spawnedAt) / 1000, 2);
  if (batches.length >= 2) {
    const records = batches.slice(1).reduce((n, b) => n + b.records, 0);
    out.steady_records_per_sec = round(records / ((batches.at(-1)!.at - batches[0]!.at) / 1000));
  }
  return out;
}

const TIMING_FIELDS = ["ms", "load", "stage", "commit", "lake", "table"];

/** Sums the timing fields of the sink's "batch written" lines (and the release's settlings). */
function phasesOf(stderr: string, commitField: "commit" | "table"): Phases {
  const sums: Record<string, number> = {};
  const commits: number[] = [];
  let batches = 0;
  let settlings = 0;
  let settlingMs = 0;
  for (const line of stderr.split("\n")) {
    if (line.includes('"msg":"settled the recent orders"')) {
      // The release: part of the table phase of the batch after it (its table's upkeep, once per ~1–1.5M rows).
      settlings++;
      settlingMs += (JSON.parse(line) as { ms: number }).ms;
    }
    if (!line.includes('"msg":"batch written"')) continue;
    const b = JSON.parse(line) as Record<string, unknown>;
    batches++;
    for (const k of TIMING_FIELDS) if (typeof b[k] === "number") sums[k] = (sums[k] ?? 0) + (b[k] as number);
    if (typeof b[commitField] === "number") commits.push(b[commitField] as number);
  }
  const phases: Phases = { batches, sums };
  if (commits.length > 0) phases.per_batch_commit_ms = { median: median(commits), mean: round(commits.reduce((a, b) => a + b, 0) / commits.length), max: Math.max(...commits), all: commits };
  if (commitField === "table") Object.assign(phases, { settlings, settling_ms: settlingMs });
  return phases;
}

interface Target {
  bin: string;
  /** The sink's arguments for its catalog and lake (besides --data-dir). */
  args: string[];
  env: Record<string, string>;
  /** Which "batch written" field is the transaction that makes a batch durable. */
  commitField: "commit" | "table";
}

/** `ferry sink --until-caught-up` over `topic` into `dataDir`; checks (with the same binary's `ferry query`) that lake and orders hold `expectRows`. */
async function drain(label: string, t: Target, topic: string, count: number, dataDir: string, expectRows: number): Promise<SinkRun> {
  // The preload's and the last run's writeback would otherwise sit in front of this run's fsyncs
  // (lake files, DuckDB's log): flushed first, so each run measures itself.
  sh(["sync"]);
  const othersBefore = await waitForQuiet(quietWait);
  const loadBefore = loadAverage();
  const busy0 = machineBusySeconds();
  const s0 = performance.now();
  const spawnedAt = Date.now();
  // One consumer group per data dir (its lake belongs to that group), new to Kafka: from the start.
  const group = `ferry-bench-${stamp}-${dataDir.split("/").at(-1)}`;
  const proc = Bun.spawn([t.bin, "sink", "--brokers", brokers, "--topic", topic, "--group", group, "--data-dir", dataDir, "--until-caught-up", "--log-level", "info", ...t.args], {
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, ...t.env },
  });
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
  const busy = machineBusySeconds() - busy0;
  if (code !== 0) throw new Error(`${label}: ferry sink exited ${code}: ${await stderr}`);
  // Its CPU time (wait4's). Not its maxRSS: Linux carries the spawning process's high-water mark into
  // a vfork'd child's at exec, so that figure is this bench's own RSS when larger (VmHWM is not).
  const usage = proc.resourceUsage();
  const ferryCpu = usage ? Number(usage.cpuTime.total) / 1e6 : Number.NaN;
  const count1 = (sql: string) => Number(sh([t.bin, "query", "--data-dir", dataDir, ...t.args, "--format", "csv", sql], { env: t.env }).trim().split("\n").at(-1));
  const lakeRows = count1("select count(*) from lake");
  const tableRows = count1("select count(*) from orders");
  if (lakeRows !== expectRows || tableRows !== expectRows) throw new Error(`${label}: expected ${expectRows} rows, lake has ${lakeRows}, orders ${tableRows}`);
  const phases = phasesOf(await stderr, t.commitField);
  const run: SinkRun = {
    records_per_sec: round(count / seconds),
    seconds: round(seconds, 2),
    peak_rss_mb: round(peakKb / 1024),
    ferry_cpu_s: round(ferryCpu, 2),
    other_cpu_s: round(busy - ferryCpu, 2),
    load_before: loadBefore,
    busy_cores_before: round(othersBefore, 2),
    phases,
    ...timingOf(await stderr, spawnedAt),
  };
  const s = phases.sums;
  const c = phases.per_batch_commit_ms;
  console.log(
    `${label}: ${count} records in ${run.seconds} s = ${run.records_per_sec} records/s, peak RSS ${run.peak_rss_mb} MB; lake and orders ${expectRows} rows; ` +
      `CPU ferry ${run.ferry_cpu_s} s, rest of machine ${run.other_cpu_s} s; before: ${run.busy_cores_before} cores busy, load ${loadBefore}`,
  );
  console.log(
    `  startup (spawn → "sink started") ${run.startup_s ?? "-"} s; first to last batch ${run.steady_records_per_sec ?? "-"} records/s`,
  );
  console.log(
    `  ${phases.batches} batches, sums: ${Object.entries(s).map(([k, v]) => `${k} ${v}`).join(", ")} ms` +
      (c ? `; ${t.commitField} per batch median ${c.median} ms, mean ${c.mean}, max ${c.max}` : "") +
      (phases.settlings ? ` (${phases.settlings} settlings ${phases.settling_ms} ms)` : ""),
  );
  return run;
}

/** The run of median records/s (its RSS and phases with it). */
const medianRun = (runs: SinkRun[]) => [...runs].sort((a, b) => a.records_per_sec - b.records_per_sec)[Math.floor(runs.length / 2)]!;

/**
 * The catalog's own cost per batch: `n` transactions as the sink's batch makes them (6 partitions'
 * offsets moved, checked; one row into the lake, inlined in the catalog: no data file; a commit
 * message), on a fresh catalog. Answers ms per transaction (median, mean, max).
 */
async function catalogCost(catalogArg: string | undefined, dataDir: string, n: number) {
  mkdirSync(dataDir, { recursive: true });
  const db = await openDb(":memory:");
  try {
    await attachCatalog(db, catalogOf({ dataDir, catalog: catalogArg }), { url: `${join(dataDir, "lake")}/` });
    await createLakeTables(db, "orders");
    await createOffsetsSchema(db);
    const held = new Map<number, number | undefined>();
    const times: number[] = [];
    const row = `SELECT 'cost-' || $1 AS order_id, 'p' AS product, 1 AS quantity, 1.5 AS price, 'c' AS customer_id, TIMESTAMPTZ '2026-11-18 12:00:00+00' AS ordered_at`;
    for (let i = 0; i <= n; i++) {
      const moves: OffsetMove[] = [0, 1, 2, 3, 4, 5].map((p) => ({ topic: "cost", partition: p, from: held.get(p), to: (i + 1) * 100 }));
      const t0 = performance.now();
      await db.transaction(async () => {
        await moveOffsets(db, moves, "bench");
        // The record's columns, its lineage and date: whatever the lake table has (by name).
        await db.exec(
          `INSERT INTO ${LAKE_DB}.main.${lakeTableOf("orders")} BY NAME SELECT r.*, 'cost' AS kafka_topic, 0 AS kafka_partition, $2::BIGINT AS kafka_offset, now() AS ingested_at, DATE '2026-11-18' AS date FROM (${row}) r`,
          [String(i), i],
        );
        await db.exec(`CALL ${LAKE_DB}.set_commit_message('bench', $1)`, [`batch ${i}`]);
      });
      if (i > 0) times.push(performance.now() - t0); // the first creates the offsets tables
      for (const m of moves) held.set(m.partition, m.to);
    }
    return { transactions: n, median_ms: round(median(times), 2), mean_ms: round(times.reduce((a, b) => a + b, 0) / n, 2), max_ms: round(Math.max(...times), 2) };
  } finally {
    db.close();
  }
}

// Stopped midway (^C, kill): the data dirs and binaries go too (a killed run's PostgreSQL databases,
// bench_sink_*, and S3 prefixes, bench-sink-*, stay).
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
const stopKafka = ensureKafka();
const cleanups: (() => void)[] = [];
try {
  // The binaries: this tree's (copied now), today's release (built from its commit, or given).
  const current = join(work, "ferry-current");
  copyFileSync(opt.bin ?? FERRY_BIN, current);
  sh(["chmod", "+x", current]);
  let release: { bin: string; what: string } | undefined;
  if (wants("release")) {
    if (opt["release-bin"]) release = { bin: opt["release-bin"], what: opt["release-bin"] };
    else {
      const dir = join(work, "release");
      sh(["mkdir", "-p", dir]);
      const t0 = performance.now();
      const built = buildAt(opt.release, dir);
      release = { bin: built.bin, what: `commit ${built.commit.slice(0, 12)}` };
      console.log(`built today's release (${release.what}) in ${round((performance.now() - t0) / 1000)} s`);
    }
  }
  const head = sh(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"]).trim();
  const dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "src"]).trim() !== "";
  const currentWhat = `${opt.bin ?? "dist/ferry"} (tree at ${head}${dirty ? " with uncommitted changes in src/" : ""})`;
  console.log(`this tree's binary: ${currentWhat}`);

  // This tree's binary: each variant a catalog and a lake; --split adds the two halves of postgres+s3.
  const variants = CATALOG_VARIANTS.filter((v) => wants(v.key) && (!v.split || opt.split));
  const needsS3 = variants.some((v) => v.lake === "s3");
  if (variants.some((v) => v.catalog === "postgres") || wants("catalog-cost")) ensureService("postgres"); // never stopped here: others use it
  if (needsS3) cleanups.push(ensureService("s3proxy"));
  const s3Data = needsS3 ? join(sh(["bash", join(ROOT, "scripts/services/s3proxy"), "statedir"]).trim(), "data", S3_BUCKET) : "";

  const topic = `bench-sink-${stamp}`;
  const recordBytes = await preload(topic, "ord", records);

  const perfRates: number[] = [];
  const runs: Record<string, SinkRun[]> = Object.fromEntries([["release", []], ...variants.map((v) => [v.key, []])]);
  for (let r = 1; r <= RUNS; r++) {
    if (wants("reference")) {
      sh(["sync"]);
      await waitForQuiet(quietWait);
      const loadBefore = loadAverage();
      const perf = kafkaTool("org.apache.kafka.tools.ConsumerPerformance", [
        "--bootstrap-server", brokers, "--topic", topic, "--messages", String(records), "--group", `perf-${stamp}-${r}`, "--timeout", "60000",
      ]);
      const lines = perf.trim().split("\n");
      const header = lines.find((l) => l.includes("nMsg.sec"))!.split(",").map((s) => s.trim());
      const row = lines.at(-1)!.split(",").map((s) => s.trim());
      perfRates.push(Number(row[header.indexOf("nMsg.sec")]));
      console.log(`reference ${r}: Kafka ConsumerPerformance ${round(perfRates.at(-1)!)} records/s (${row[header.indexOf("MB.sec")]} MB/s); load before ${loadBefore}`);
    }
    if (release) {
      runs.release!.push(await drain(`release ${r} (${release.what})`, { bin: release.bin, args: [], env: {}, commitField: "table" }, topic, records, join(work, `release-${r}`), records));
      rmSync(join(work, `release-${r}`), { recursive: true, force: true });
    }
    for (const v of variants) {
      const dataDir = join(work, `${v.key}-${r}`);
      const db = `bench_sink_${stamp}_${v.key.replace(/\W/g, "_")}_${r}`;
      const prefix = `bench-sink-${stamp}-${v.key}-${r}`;
      const args: string[] = [];
      if (v.catalog === "postgres") {
        psql(`CREATE DATABASE ${db}`);
        args.push("--catalog", pgUrl(db));
      }
      if (v.lake === "s3") args.push("--lake", `s3://${S3_BUCKET}/${prefix}`);
      try {
        runs[v.key]!.push(await drain(`${v.key} ${r} (${v.label})`, { bin: current, args, env: v.lake === "s3" ? S3_ENV : {}, commitField: "commit" }, topic, records, dataDir, records));
      } finally {
        if (v.catalog === "postgres") psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        if (v.lake === "s3") rmSync(join(s3Data, prefix), { recursive: true, force: true });
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }

  // Side by side.
  const perfRate = perfRates.length ? median(perfRates) : undefined;
  const med: Record<string, SinkRun | undefined> = Object.fromEntries(Object.entries(runs).map(([k, rs]) => [k, rs.length ? medianRun(rs) : undefined]));
  const ratio = (a: SinkRun | undefined, b: number | undefined) => (a && b ? round(a.records_per_sec / b, 3) : undefined);
  const rows: [string, string][] = [["release", `release (${release?.what ?? "-"})`], ...variants.map((v): [string, string] => [v.key, `${v.key}: ${v.label}`])];
  console.log(`\n${records} orders, medians of ${RUNS} (every run above)`);
  console.log(`${"variant".padEnd(52)} ${"records/s".padStart(10)} ${"peak RSS".padStart(9)} ${"commit/batch".padStart(13)} ${"startup".padStart(8)} ${"steady/s".padStart(9)} ${"×release".padStart(9)} ${"×ConsPerf".padStart(9)}  runs`);
  if (perfRate) console.log(`${"Kafka ConsumerPerformance".padEnd(52)} ${String(round(perfRate)).padStart(10)} ${"".padStart(9)} ${"".padStart(13)} ${"".padStart(8)} ${"".padStart(9)} ${"".padStart(9)} ${"1".padStart(9)}  ${perfRates.map((x) => round(x)).join(", ")}`);
  for (const [key, name] of rows) {
    const m = med[key];
    if (!m) continue;
    const all = runs[key]!;
    const c = m.phases.per_batch_commit_ms;
    console.log(
      `${name.padEnd(52)} ${String(m.records_per_sec).padStart(10)} ${`${Math.max(...all.map((x) => x.peak_rss_mb))} MB`.padStart(9)} ${(c ? `${c.median} ms` : "").padStart(13)} ${(m.startup_s !== undefined ? `${m.startup_s} s` : "").padStart(8)} ${String(m.steady_records_per_sec ?? "").padStart(9)} ${String(ratio(m, med.release?.records_per_sec) ?? "").padStart(9)} ${String(ratio(m, perfRate) ?? "").padStart(9)}  ${all.map((x) => x.records_per_sec).join(", ")}`,
    );
  }
  const checks = {
    catalog_vs_release: ratio(med.catalog, med.release?.records_per_sec),
    postgres_s3_vs_catalog: ratio(med["postgres+s3"], med.catalog?.records_per_sec),
    peak_rss_mb: Math.max(0, ...variants.flatMap((v) => runs[v.key]!.map((x) => x.peak_rss_mb))),
  };
  console.log(
    `targets: default catalog ≥ release: ×${checks.catalog_vs_release ?? "-"} ${(checks.catalog_vs_release ?? 0) >= 1 ? "met" : "NOT met"}; ` +
      `PostgreSQL+S3 ≥ 0.8× default catalog: ×${checks.postgres_s3_vs_catalog ?? "-"} ${(checks.postgres_s3_vs_catalog ?? 0) >= 0.8 ? "met" : "NOT met"}; ` +
      `peak RSS ≤ 512 MB: ${checks.peak_rss_mb} MB ${checks.peak_rss_mb <= 512 ? "met" : "NOT met"}`,
  );

  // The catalog's own cost per batch (no data file: the transaction's round trips to the catalog).
  let cost: Record<string, unknown> | undefined;
  if (wants("catalog-cost")) {
    const n = 50;
    const duck = await catalogCost(undefined, join(work, "cost-duckdb"), n);
    const db = `bench_sink_${stamp}_cost`;
    psql(`CREATE DATABASE ${db}`);
    let pg;
    try {
      pg = await catalogCost(pgUrl(db), join(work, "cost-postgres"), n);
    } finally {
      psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    }
    cost = { duckdb_file: duck, postgres: pg };
    console.log(`catalog's cost per batch (6 offsets moved + 1 inlined row + commit message, ${n} transactions): DuckDB file median ${duck.median_ms} ms (mean ${duck.mean_ms}, max ${duck.max_ms}); PostgreSQL median ${pg.median_ms} ms (mean ${pg.mean_ms}, max ${pg.max_ms})`);
  }

  let bigRuns: { drain: SinkRun; into_big_catalog: SinkRun; commit_ratio: number | undefined } | undefined;
  if (big > 0) {
    const bigTopic = `bench-sink-big-${stamp}`;
    await preload(bigTopic, "big", big);
    const dir = join(work, "big");
    const t: Target = { bin: current, args: [], env: {}, commitField: "commit" };
    const bigDrain = await drain(`catalog, ${big} records`, t, bigTopic, big, dir, big);
    const into = await drain(`catalog, ${records} more into a catalog of ${big} rows`, t, topic, records, dir, big + records);
    const commitRatio = med.catalog?.phases.per_batch_commit_ms && into.phases.per_batch_commit_ms ? round(into.phases.per_batch_commit_ms.median / med.catalog.phases.per_batch_commit_ms.median, 2) : undefined;
    console.log(`into a catalog of ${big} rows vs empty: ${into.records_per_sec} vs ${med.catalog?.records_per_sec ?? "-"} records/s; commit per batch median ×${commitRatio ?? "-"}`);
    bigRuns = { drain: bigDrain, into_big_catalog: into, commit_ratio: commitRatio };
  }

  writeResult("sink", {
    records,
    record_bytes: recordBytes,
    partitions: 6,
    runs: RUNS,
    binaries: { current: currentWhat, release: release?.what },
    reference_consumer_perf_records_per_sec: perfRate && round(perfRate),
    reference_runs_records_per_sec: perfRates.map((x) => round(x)),
    ...Object.fromEntries(
      Object.entries(med)
        .filter(([, m]) => m)
        .map(([k, m]) => [k, { ...m, runs_records_per_sec: runs[k]!.map((x) => x.records_per_sec), peak_rss_mb_of_runs: Math.max(...runs[k]!.map((x) => x.peak_rss_mb)) }]),
    ),
    ratios: {
      catalog_vs_release: checks.catalog_vs_release,
      catalog_vs_consumer_perf: ratio(med.catalog, perfRate),
      release_vs_consumer_perf: ratio(med.release, perfRate),
      postgres_s3_vs_catalog: checks.postgres_s3_vs_catalog,
      ...(opt.split ? { postgres_local_vs_catalog: ratio(med["postgres+local"], med.catalog?.records_per_sec), duckdb_s3_vs_catalog: ratio(med["catalog+s3"], med.catalog?.records_per_sec) } : {}),
    },
    catalog_cost_per_batch: cost,
    ...(bigRuns ? { big: { records: big, ...bigRuns } } : {}),
    targets: { catalog_vs_release: 1, postgres_s3_vs_catalog: 0.8, peak_rss_mb: 512 },
  });
} finally {
  for (const c of cleanups) c();
  rmSync(work, { recursive: true, force: true });
  stopKafka();
}
