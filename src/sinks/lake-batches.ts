/**
 * Micro-batches from Kafka into the Parquet lake and (for orders) the `orders` table, exactly once.
 *
 * Per batch, in this order:
 *  1. a partition seen for the first time gets its `ferry_offsets` row (its first offset), so a
 *     crash in its first batch leaves a record of where the lake stood;
 *  2. the rows go to a temporary table, and from there one lake file per topic, partition and
 *     date, named by the partition's offset range in the batch (temp name, fsync, rename);
 *  3. one transaction upserts the orders and moves `ferry_offsets` past the batch.
 * Kafka offsets are committed by the source after this returns.
 *
 * Recovery: a lake file whose first offset is at or past the partition's stored offset belongs
 * to a batch whose transaction never committed (a crash between 2 and 3). Those rows are read
 * again from Kafka, so the file is moved out of the lake (to <data-dir>/lake-orphans/, kept for
 * inspection) before the partition is read: no row is in the lake twice.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { createMutex, dataPaths, type Db, openDb, type QueryResult, queryWithLake, sqlString } from "../db/duckdb.ts";
import type { Logger } from "../log/logger.ts";
import type { DecodedBatch } from "../pipeline/decode.ts";
import { tpKey } from "../pipeline/partitions.ts";
import type { RecordKind } from "../schema/kinds.ts";
import { lakeStaging, listLakeFiles, writeLakeFiles } from "./lake.ts";
import { allStoredOffsets, createOrdersTables, type PartitionOffset, saveOffsets, upsertOrdersSql } from "./orders-table.ts";
import { rowLayout } from "./record-rows.ts";

/** Points of a batch's write where a test can make the process die (kill -9 itself). */
export const FAULT_POINTS = ["before-write", "between-files", "after-rename", "after-commit", "after-kafka-commit"] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** A partition's offset range in a batch (records fetched, valid or not). */
export interface BatchRange {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

export interface LakeBatchWrite extends DecodedBatch {
  ranges: BatchRange[];
  sequence: number;
}

export interface LakeBatchStoreOptions {
  dataDir: string;
  kind: RecordKind;
  /** DuckDB's memory limit (its caches and working memory; it spills to disk above it). */
  memoryLimitMb: number;
  /** DuckDB's worker threads (the decoding runs on the JS thread beside them). */
  threads: number;
  /** Called at each fault point of a batch (tests use it to kill the process there). */
  fault?: (point: FaultPoint, sequence: number) => void;
}

export interface WriteResult {
  files: string[];
  /** Milliseconds spent loading the rows, writing lake files, and committing the table. */
  ms: { load: number; lake: number; table: number };
}

export async function openLakeBatchStore(opts: LakeBatchStoreOptions, log: Logger) {
  const paths = dataPaths(opts.dataDir);
  const orphans = join(opts.dataDir, "lake-orphans");
  const layout = rowLayout(opts.kind);
  const db: Db = await openDb(paths.database);
  // DuckDB would cache up to 80% of RAM; a sink runs beside other things and stays bounded.
  await db.exec(`SET memory_limit = ${sqlString(`${opts.memoryLimitMb}MB`)}`);
  await db.exec(`SET threads = ${Math.max(1, Math.floor(opts.threads))}`);
  const exclusive = createMutex();
  await createOrdersTables(db);
  const stored = new Map<string, number>((await allStoredOffsets(db)).map((o) => [tpKey(o.topic, o.partition), o.nextOffset]));
  const checked = new Set<string>();
  const batchFile = join(opts.dataDir, `.batch-${process.pid}.ndjson`);
  const staging = lakeStaging(opts.dataDir);
  // Leftovers of killed processes: never in the lake, safe to drop.
  for (const f of readdirSync(opts.dataDir)) if (/^\.batch-\d+/.test(f)) rmSync(join(opts.dataDir, f), { force: true });
  const fault = opts.fault ?? (() => {});

  /** Moves lake files of uncommitted batches out of the lake (once per partition and process). */
  function recover(topic: string, partitions: number[]): void {
    const todo = partitions.filter((p) => !checked.has(tpKey(topic, p)));
    if (todo.length === 0) return;
    const files = listLakeFiles(paths.lake, topic);
    for (const p of todo) {
      checked.add(tpKey(topic, p));
      const next = stored.get(tpKey(topic, p));
      const mine = files.filter((f) => f.partition === p);
      if (next === undefined) {
        if (mine.length > 0) log.warn("the lake has files of a partition this database has no offsets for; they are left as they are", { topic, partition: p, files: mine.length });
        continue;
      }
      for (const f of mine.filter((f) => f.firstOffset >= next)) {
        const target = join(orphans, relative(paths.lake, f.path));
        mkdirSync(dirname(target), { recursive: true });
        renameSync(f.path, target);
        log.notice("moved the lake file of an uncommitted batch out of the lake; its rows are read again", { topic, partition: p, file: f.path, movedTo: target });
      }
    }
  }

  async function write(batch: LakeBatchWrite): Promise<WriteResult> {
    return exclusive(async () => {
      fault("before-write", batch.sequence);
      const unknown = batch.ranges.filter((r) => !stored.has(tpKey(r.topic, r.partition)));
      if (unknown.length > 0) {
        const first: PartitionOffset[] = unknown.map((r) => ({ topic: r.topic, partition: r.partition, nextOffset: r.firstOffset }));
        await db.transaction(() => saveOffsets(db, first));
        for (const o of first) stored.set(tpKey(o.topic, o.partition), o.nextOffset);
      }
      const files: string[] = [];
      const t0 = performance.now();
      let t1 = t0;
      if (batch.rows > 0) {
        // DuckDB reads a file of rows several times faster than one big string parameter.
        writeFileSync(batchFile, batch.rowsNdjson);
        await db.exec(`CREATE OR REPLACE TEMP TABLE ferry_batch AS ${layout.rowsFromNdjsonFile(batchFile)}`);
        t1 = performance.now();
        const ranges = new Map(batch.ranges.map((r) => [tpKey(r.topic, r.partition), r]));
        const select = `SELECT ${layout.lakeColumns}, kafka_topic AS __t, kafka_partition AS __p, ${layout.lakeDate} AS __d FROM ferry_batch`;
        const range = (topic: string, partition: number) => ranges.get(tpKey(topic, partition))!;
        const renamed = (n: number) => n === 1 && fault("between-files", batch.sequence);
        files.push(...(await writeLakeFiles(db, paths.lake, staging, select, range, renamed)));
      }
      const t2 = performance.now();
      fault("after-rename", batch.sequence);
      const next: PartitionOffset[] = batch.ranges.map((r) => ({ topic: r.topic, partition: r.partition, nextOffset: r.lastOffset + 1 }));
      await db.transaction(async () => {
        if (batch.rows > 0 && opts.kind === "orders") await db.exec(upsertOrdersSql(`SELECT ${layout.rowColumns} FROM ferry_batch`));
        await saveOffsets(db, next);
      });
      for (const o of next) stored.set(tpKey(o.topic, o.partition), o.nextOffset);
      if (batch.rows > 0) await db.exec(`DROP TABLE IF EXISTS ferry_batch`);
      const t3 = performance.now();
      fault("after-commit", batch.sequence);
      return { files, ms: { load: Math.round(t1 - t0), lake: Math.round(t2 - t1), table: Math.round(t3 - t2) } };
    });
  }

  return {
    /** The next offset this store has for a partition (what is already in the lake and table). */
    storedOffset: (topic: string, partition: number) => stored.get(tpKey(topic, partition)),
    recover,
    write,
    query: (sql: string): Promise<QueryResult> => exclusive(() => queryWithLake(db, paths.lake, sql, layout.emptyLake)),
    close: () =>
      exclusive(async () => {
        rmSync(batchFile, { force: true });
        db.close();
      }),
  };
}

export type LakeBatchStore = Awaited<ReturnType<typeof openLakeBatchStore>>;
