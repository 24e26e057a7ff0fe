/**
 * How many files a day of the sink leaves in the lake: 10-second batches on 6 partitions for a day
 * (8,640 batches), simulated quickly — each batch one catalog transaction inserting its rows into
 * the lake as the sink does (small batches stay inlined in the catalog, tables.ts INLINE_ROWS),
 * with maintenance (src/lake/maintenance.ts, its default policy) every
 * MAINTAIN_EVERY batches. Records carry event times a little behind the batch (most the same day,
 * a few up to 3 days late), so a batch touches a few dates.
 *
 * Prints and writes (bench/results/lake-files.json), per scenario: the files per date and per
 * (partition, date) before and after, what today's file lake would have written for the same
 * batches (one file per batch, partition and date), what DuckLake holds without maintenance, the
 * time maintenance took, and the bytes it rewrote.
 *
 * Settings (env): BATCHES (8640), PARTITIONS (6), MAINTAIN_EVERY (60,360: every 10 minutes and
 * every hour of batches), SCENARIOS (small,large: rows per partition and batch 20 and 400 — below and above
 * the inlining limit of a whole batch), CATALOG (duckdb | sqlite), OFFSETS (1: move the offsets
 * in each batch's transaction as the sink does — slower, same files), WORK_DIR (/dev/shm).
 * Flushing by age (1 hour) is applied on the simulated clock: the bench runs faster than the day.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openDb } from "../src/db/duckdb.ts";
import { attachCatalog, catalogOf } from "../src/lake/catalog.ts";
import { DEFAULT_MAINTENANCE, type LakeFile, lakeFiles, maintain, type MaintenanceReport } from "../src/lake/maintenance.ts";
import { createOffsetsSchema, moveOffsets } from "../src/lake/offsets.ts";
import { createLakeTables, INLINE_ROWS } from "../src/lake/tables.ts";
import { createLogger } from "../src/log/logger.ts";
import { median, round, writeResult } from "./lib.ts";

const BATCHES = Number(process.env.BATCHES ?? 8640);
const PARTITIONS = Number(process.env.PARTITIONS ?? 6);
/** Maintenance every this many batches: 60 = 10 minutes, 360 = an hour (the sink's default --maintain-every). */
const MAINTAIN_EVERIES = (process.env.MAINTAIN_EVERY ?? "60,360").split(",").map(Number).filter((n) => n > 0);
const SCENARIOS: Record<string, number> = { small: 20, large: 400 };
const CHOSEN = (process.env.SCENARIOS ?? "small,large").split(",").filter((s) => s in SCENARIOS);
const CATALOG = process.env.CATALOG ?? "duckdb";
/** Move the partitions' offsets in each batch's transaction, as the sink does (OFFSETS=1; ~0.2 s a batch here: off by default, files do not depend on it). */
const OFFSETS = process.env.OFFSETS === "1";
/** Where the catalog and lake go: memory (/dev/shm) unless WORK_DIR says otherwise — a commit's fsync on a busy disk would make the day take an hour. */
const WORK_DIR = process.env.WORK_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const BATCH_MS = 10_000;
const DAY_START = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;
const log = createLogger("warn", (l) => process.stderr.write(l));

interface ScenarioResult {
  maintainEveryBatches: number;
  rowsPerPartitionAndBatch: number;
  rowsPerBatch: number;
  inlined: boolean;
  rows: number;
  todaysFileLake: { files: number; perPartitionAndDate: Record<string, number> };
  withoutMaintenance: { files: number; inlinedRows: number };
  afterDay: { files: number; bytes: number; inlinedRows: number; perDate: Record<string, number>; perPartitionAndDate: Record<string, number> };
  maintenance: { runs: number; msMedian: number; msMax: number; msTotal: number; flushes: number; filesMerged: number; mergedInto: number; bytesWritten: number; bytesInLake: number };
  maxFilesSeenAtARun: number;
  catalogBytes: { beforeExpiry: number; afterExpiry: number; snapshotsBefore: number; snapshotsAfter: number };
  insertSeconds: number;
}

/** The rows of batch `b`: partition p, row r → offset b·R + r; event time behind the batch's end (a few late by days). */
const batchSql = (b: number, rows: number) => {
  const end = DAY_START + (b + 1) * BATCH_MS;
  // lag: hash → most within 30 minutes, 1% up to 3 days
  const lag = `CASE WHEN hash(${b}, p, r, 'late') % 100 = 0 THEN hash(${b}, p, r) % ${3 * 24 * HOUR} ELSE hash(${b}, p, r) % ${30 * 60_000} END`;
  return `INSERT INTO ferry_lake.main.lake (order_id, product, quantity, price, customer_id, ordered_at, kafka_topic, kafka_partition, kafka_offset, ingested_at, date)
    SELECT 'o-' || p || '-' || (${b * rows} + r), 'product-' || (hash(${b}, p, r) % 500), (1 + hash(${b}, r, p) % 9)::INT, ((hash(r, ${b}, p) % 100000) / 100)::DECIMAL(12,2), 'c-' || (hash(p, r, ${b}) % 20000),
      t, 'orders', p::INT, ${b * rows} + r, to_timestamp(${end} / 1000.0), CAST(timezone('UTC', t) AS DATE)
    FROM (SELECT p, r, to_timestamp((${end} - (${lag})) / 1000.0) AS t FROM range(${PARTITIONS}) a(p), range(${rows}) b(r))`;
};

const tally = (files: readonly LakeFile[]) => files.reduce((m, f) => m.set(f.partition, (m.get(f.partition) ?? 0) + 1), new Map<string, number>());

async function scenario(name: string, rowsPerPartition: number, every: number): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(WORK_DIR, `ferry-bench-lake-files-${name}-`));
  try {
    const catalog = catalogOf({ dataDir: dir, catalog: CATALOG === "sqlite" ? `sqlite:${join(dir, "lake.sqlite")}` : undefined });
    const db: Db = await openDb(":memory:");
    await attachCatalog(db, catalog, { url: `${dir}/lake/` });
    await createLakeTables(db, "orders");
    await createOffsetsSchema(db);
    const next = new Map<number, number>();
    const runs: MaintenanceReport[] = [];
    let bytesWritten = 0;
    let flushes = 0;
    let maxFiles = 0;
    let oldestInlined: number | undefined; // simulated time of the oldest row not in a file yet
    let insertMs = 0;
    const rowsPerBatch = rowsPerPartition * PARTITIONS;
    const t0 = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      const s = performance.now();
      await db.transaction(async () => {
        if (OFFSETS) {
          const moves = Array.from({ length: PARTITIONS }, (_, p) => ({ topic: "orders", partition: p, from: next.get(p), to: (b + 1) * rowsPerPartition }));
          await moveOffsets(db, moves, "bench");
        }
        await db.exec(batchSql(b, rowsPerPartition));
      });
      for (let p = 0; p < PARTITIONS; p++) next.set(p, (b + 1) * rowsPerPartition);
      insertMs += performance.now() - s;
      const now = DAY_START + (b + 1) * BATCH_MS;
      if (rowsPerBatch <= INLINE_ROWS) oldestInlined ??= now;
      if ((b + 1) % every === 0 || b === BATCHES - 1) {
        const before = await lakeFiles(db, ["lake"]);
        maxFiles = Math.max(maxFiles, before.length);
        // The age rule on the simulated clock: inlined rows that would be an hour old by the next run are flushed whatever their number.
        const old = oldestInlined !== undefined && now - oldestInlined + every * BATCH_MS >= DEFAULT_MAINTENANCE.flushAgeMs;
        const r = await maintain(db, { ...DEFAULT_MAINTENANCE, flushRows: old ? 1 : DEFAULT_MAINTENANCE.flushRows, flushAgeMs: Number.MAX_SAFE_INTEGER }, { member: "bench" }, log);
        if (r.failed.length) throw new Error(`maintenance failed: ${JSON.stringify(r.failed)}`);
        runs.push(r);
        if (r.flushedRows > 0) flushes++;
        if (r.after.inlinedRows === 0) oldestInlined = undefined;
        const had = new Set(before.map((f) => f.path));
        for (const f of await lakeFiles(db, ["lake"])) if (!had.has(f.path)) bytesWritten += f.bytes;
      }
      if ((b + 1) % 1440 === 0) console.log(`  ${name}: ${b + 1}/${BATCHES} batches, ${Math.round((performance.now() - t0) / 1000)} s`);
    }
    const rows = BATCHES * rowsPerBatch;
    // The day is over: the last run (a flush of what is left, by age) and what it left
    const closing = await maintain(db, { ...DEFAULT_MAINTENANCE, flushRows: 1 }, { member: "bench" }, log);
    runs.push(closing);
    const files = await lakeFiles(db, ["lake"]);
    const q = async (sql: string) => (await db.query(sql)).rows;
    const perPartitionAndDate = async (from: string) =>
      Object.fromEntries((await q(`SELECT 'p' || kafka_partition || ' ' || date, count(DISTINCT file)::INT FROM (${from}) GROUP BY 1 ORDER BY 1`)).map(([k, n]) => [String(k), Number(n)]));
    const fileList = files.map((f) => `'${f.path.replaceAll("'", "''")}'`).join(", ");
    const afterPerPartition = files.length ? await perPartitionAndDate(`SELECT kafka_partition, date, filename AS file FROM read_parquet([${fileList}], filename = true)`) : {};
    // Today's file lake: one file per batch, partition and date with rows
    const oldLake = await perPartitionAndDate(`SELECT kafka_partition, date, kafka_offset // ${rowsPerPartition} AS file FROM ferry_lake.main.lake`);
    // DuckLake without maintenance: a batch above the inlining limit writes one file per date it holds; smaller ones stay inlined
    const direct = rowsPerBatch > INLINE_ROWS ? Number((await q(`SELECT count(*) FROM (SELECT DISTINCT kafka_offset // ${rowsPerPartition}, date FROM ferry_lake.main.lake)`))[0]![0]) : 0;
    const catalogFile = catalog.description.replace(/^sqlite:/, "");
    const snapshotsBefore = Number((await q(`SELECT count(*) FROM ducklake_snapshots('ferry_lake')`))[0]![0]);
    db.close(); // checkpoint: the catalog file's size as it rests
    const beforeExpiry = statSync(catalogFile).size;
    const again = await openDb(":memory:");
    await attachCatalog(again, catalog, { url: `${dir}/lake/` });
    // A week later (the default retention): every snapshot of the day expires but the last
    const expired = await maintain(again, { ...DEFAULT_MAINTENANCE, snapshotRetentionMs: 0, fileGraceMs: 0 }, { member: "bench" }, log);
    const snapshotsAfter = Number((await again.query(`SELECT count(*) FROM ducklake_snapshots('ferry_lake')`)).rows[0]![0]);
    const rowsAfter = Number((await again.query(`SELECT count(*) FROM ferry_lake.main.lake`)).rows[0]![0]);
    if (rowsAfter !== rows) throw new Error(`rows after maintenance: ${rowsAfter}, expected ${rows}`);
    again.close();
    const ms = runs.map((r) => r.ms);
    const result: ScenarioResult = {
      maintainEveryBatches: every,
      rowsPerPartitionAndBatch: rowsPerPartition,
      rowsPerBatch,
      inlined: rowsPerBatch <= INLINE_ROWS,
      rows,
      todaysFileLake: { files: Object.values(oldLake).reduce((s, n) => s + n, 0), perPartitionAndDate: oldLake },
      withoutMaintenance: { files: direct, inlinedRows: rowsPerBatch <= INLINE_ROWS ? rows : 0 },
      afterDay: {
        files: files.length,
        bytes: files.reduce((s, f) => s + f.bytes, 0),
        inlinedRows: closing.after.inlinedRows,
        perDate: Object.fromEntries([...tally(files)].sort()),
        perPartitionAndDate: afterPerPartition,
      },
      maintenance: {
        runs: runs.length,
        msMedian: round(median(ms)),
        msMax: Math.max(...ms),
        msTotal: ms.reduce((s, x) => s + x, 0),
        flushes,
        filesMerged: runs.reduce((s, r) => s + r.merged.files, 0),
        mergedInto: runs.reduce((s, r) => s + r.merged.into, 0),
        bytesWritten,
        bytesInLake: files.reduce((s, f) => s + f.bytes, 0),
      },
      maxFilesSeenAtARun: maxFiles,
      catalogBytes: { beforeExpiry, afterExpiry: statSync(catalogFile).size, snapshotsBefore, snapshotsAfter },
      insertSeconds: round(insertMs / 1000),
    };
    if (expired.snapshotsExpired === 0) throw new Error("nothing expired");
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const figures: Record<string, unknown> = { workDir: WORK_DIR, offsetsMoved: OFFSETS, batches: BATCHES, partitions: PARTITIONS, batchSeconds: BATCH_MS / 1000, catalog: CATALOG, inlineRows: INLINE_ROWS, policy: DEFAULT_MAINTENANCE };
for (const every of MAINTAIN_EVERIES) for (const name of CHOSEN) {
  console.log(`scenario ${name}: ${BATCHES} batches × ${PARTITIONS} partitions × ${SCENARIOS[name]} rows, maintenance every ${every} batches (${CATALOG} catalog)`);
  const r = await scenario(name, SCENARIOS[name]!, every);
  figures[`${name}, maintenance every ${every} batches`] = r;
  console.log(`  today's file lake: ${r.todaysFileLake.files} files; DuckLake without maintenance: ${r.withoutMaintenance.files} files + ${r.withoutMaintenance.inlinedRows} rows inlined in the catalog`);
  console.log(`  after the day with maintenance: ${r.afterDay.files} files (${(r.afterDay.bytes / 2 ** 20).toFixed(1)} MiB), per date ${JSON.stringify(r.afterDay.perDate)}; most seen at a run ${r.maxFilesSeenAtARun}`);
  const spread = (m: Record<string, number>) => {
    const n = Object.values(m);
    return `${n.length} (partition, date) pairs: min ${Math.min(...n)}, median ${median(n)}, max ${Math.max(...n)} files each`;
  };
  console.log(`  per partition and date, after: ${spread(r.afterDay.perPartitionAndDate)} (a file holds every partition's rows of its date)`);
  console.log(`  per partition and date, today's lake: ${spread(r.todaysFileLake.perPartitionAndDate)}`);
  const m = r.maintenance;
  console.log(`  maintenance: ${m.runs} runs, median ${m.msMedian} ms, max ${m.msMax} ms, total ${(m.msTotal / 1000).toFixed(1)} s; ${m.flushes} flushes; ${m.filesMerged} files merged into ${m.mergedInto}; wrote ${(m.bytesWritten / 2 ** 20).toFixed(1)} MiB for ${(m.bytesInLake / 2 ** 20).toFixed(1)} MiB in the lake`);
  console.log(`  catalog: ${(r.catalogBytes.beforeExpiry / 2 ** 20).toFixed(1)} MiB with ${r.catalogBytes.snapshotsBefore} snapshots → ${(r.catalogBytes.afterExpiry / 2 ** 20).toFixed(1)} MiB with ${r.catalogBytes.snapshotsAfter} after expiry; inserts took ${r.insertSeconds} s`);
}
writeResult("lake-files", figures);
