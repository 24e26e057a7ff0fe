/**
 * Micro-batches from Kafka into the Parquet lake and (for orders) the `orders` table, exactly once.
 *
 * Per batch, in this order:
 *  1. a partition seen for the first time gets its `ferry_offsets` row (its first offset), so a
 *     crash in its first batch leaves a record of where the lake stood;
 *  2. the rows (a file of JSON lines) go through DuckDB into one lake file per topic, partition
 *     and date, named by the partition's offset range in the batch (temp name, fsync, rename);
 *     then one commit marker per partition range in the lake (`_ferry/commits/…`, lake-target.ts);
 *  3. one transaction appends the orders, read back from those files, to the table (the `orders`
 *     view shows each id's latest row; see orders-table.ts) and moves `ferry_offsets` past the
 *     batch.
 * Kafka offsets are committed by the source after this returns. Batches pass each step in order;
 * a batch's files are written while the files of the batch before it are published and its table
 * transaction runs (two DuckDB connections).
 *
 * Recovery (recover()): a lake file without a marker belongs to a batch cut short in step 2, here
 * or in another member of the group. Those rows are read again from Kafka, so the file is moved
 * out of the lake (to <data-dir>/lake-orphans/ or <prefix>/_orphans/, kept for inspection) before
 * the partition is read: no row is in the lake twice, and a partition resumes after the lake's
 * last marked range. A range marked but not in the table (a crash between 2 and 3) is added to
 * the table from the lake.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createMutex, dataPaths, type Db, openDb, sqlString, useS3 } from "../db/duckdb.ts";
import { queryService } from "../db/query-service.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { type DecodedBatch, normalizeRows, recordsOf } from "../pipeline/decode.ts";
import { tpKey } from "../pipeline/partitions.ts";
import type { RecordKind } from "../schema/kinds.ts";
import { type LakeFile, lakeStaging, stageLakeFiles, type StagedFile } from "./lake.ts";
import { attachLake, type CommitMarker, dataDirLake, type LakeTarget } from "./lake-target.ts";
import { allStoredOffsets, appendOrders, createSinkOrdersTables, type PartitionOffset, saveOffsets, settleDue, settleRecentOrders, sinkOrderCounts } from "./orders-table.ts";
import { rowLayout } from "./record-rows.ts";
import { findRefusedLines, mayBeRowFault } from "./refused-rows.ts";
import type { DeadLetter } from "./dead-letters.ts";

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
  /** Where the lake is (default: the local folder <data-dir>/lake). */
  lake?: LakeTarget;
  /** Who may write the lake (the sinks of one consumer group: "group <id>"); default: this data dir alone. */
  lakeOwner?: string;
  kind: RecordKind;
  /** DuckDB's memory limit (its caches and working memory; it spills to disk above it). */
  memoryLimitMb: number;
  /** DuckDB's worker threads (the decoding runs on the JS thread beside them). */
  threads: number;
  /** Called at each fault point of a batch (tests use it to kill the process there). */
  fault?: (point: FaultPoint, sequence: number) => void;
  /** Recent order ids settled at this many at least (default SETTLE_MIN_ROWS; tests use fewer). */
  settleMinRows?: number;
  /**
   * Sends records whose rows DuckDB refuses (a reason of their own) to the dead-letter topic;
   * resolves once acknowledged. Without it such a batch fails.
   */
  deadLetters?: (rejected: DeadLetter[]) => Promise<void>;
}

/** A batch's lake files, written to its staging folder (none: no rows). */
interface StagedBatch {
  staged: StagedFile[];
  refused: DeadLetter[];
  stagingDir?: string;
  load: number;
  /** When writing the files began (performance.now()). */
  started: number;
}

/** A batch's lake files, published, and the local files the table reads its rows from. */
interface Staged {
  files: LakeFile[];
  refused: DeadLetter[];
  readable: { topic: string; path: string }[];
  stagingDir?: string;
  load: number;
  lake: number;
}

export interface WriteResult {
  files: string[];
  /** Records whose rows DuckDB refused, sent to the dead-letter topic (see stageBatch). */
  refused: DeadLetter[];
  /** Milliseconds spent loading the rows, writing lake files, and committing the table. */
  ms: { load: number; lake: number; table: number };
}

export async function openLakeBatchStore(opts: LakeBatchStoreOptions, log: Logger) {
  const paths = dataPaths(opts.dataDir);
  const lake = opts.lake ?? dataDirLake(opts.dataDir);
  const layout = rowLayout(opts.kind);
  const db: Db = await openDb(paths.database);
  // DuckDB would cache up to 80% of RAM; a sink runs beside other things and stays bounded.
  await db.exec(`SET memory_limit = ${sqlString(`${opts.memoryLimitMb}MB`)}`);
  await db.exec(`SET threads = ${Math.max(1, Math.floor(opts.threads))}`);
  /** The table's connection (table transactions, offsets, queries) and the lake's (loading rows, writing files). */
  const exclusive = createMutex();
  const lakeDb = await db.connect();
  // The lake's statements read a file and write files: they run in a catalog of their own, so they
  // hold no transaction on the database file. DuckDB checkpoints a commit's log only while no other
  // transaction is open there; with the lake's connection nearly always busy, the log grew through a
  // whole run and the last commit of 1M orders checkpointed it all (~1 s) — now commits checkpoint
  // as they go (50–280 ms each), and the log stays small.
  await lakeDb.exec("ATTACH ':memory:' AS ferry_lake_work");
  await lakeDb.exec("USE ferry_lake_work");
  const lakeStage = createMutex();
  const lakePublish = createMutex();
  await createSinkOrdersTables(db);
  const writer = await attachLake(db, lake, opts.lakeOwner);
  /** Per partition, the next offset after the lake's last committed range (its markers). */
  const lakeNext = new Map<string, number>();
  const stored = new Map<string, number>((await allStoredOffsets(db)).map((o) => [tpKey(o.topic, o.partition), o.nextOffset]));
  const batchFile = join(opts.dataDir, `.batch-${process.pid}.ndjson`);
  const probeFile = join(opts.dataDir, `.batch-${process.pid}.probe.ndjson`);
  const staging = lakeStaging(opts.dataDir);
  // Leftovers of killed processes: never in the lake, safe to drop.
  for (const f of readdirSync(opts.dataDir)) if (/^\.batch-\d+/.test(f)) rmSync(join(opts.dataDir, f), { force: true });
  const fault = opts.fault ?? (() => {});

  /**
   * Recovery of newly assigned partitions, at every assignment (another member may have written
   * them meanwhile), before they are read.
   * A range whose lake files are all published has a marker (lake-target.ts); any other file of
   * the partition belongs to a batch cut short — this sink's or another member's that held the
   * partition before — and is moved out; its records are read again. Ranges this data dir marked
   * but never put in its table (it died in between) are added to the table now, from the lake.
   * The partition resumes after the lake's last marked range at the earliest (storedOffset),
   * whoever wrote it: the lake is the truth for the lake. A lake written before markers existed
   * (none for the partition) goes by this data dir's offsets instead.
   */
  async function recover(topic: string, partitions: number[]): Promise<void> {
    if (partitions.length === 0) return;
    const [files, markers] = await Promise.all([lake.list(topic), lake.listMarkers(topic)]);
    for (const p of partitions) {
      const own = stored.get(tpKey(topic, p));
      const marked = markers.filter((m) => m.partition === p);
      const legacy = marked.length === 0 && own !== undefined;
      const committed = new Set(marked.map((m) => `${m.firstOffset}-${m.lastOffset}`));
      const mine = files.filter((f) => f.partition === p);
      for (const f of mine.filter((f) => !committed.has(`${f.firstOffset}-${f.lastOffset}`))) {
        if (legacy && f.lastOffset < own) {
          // Committed before markers existed: marked now, so later recoveries keep it.
          await lake.writeMarker({ topic, partition: p, firstOffset: f.firstOffset, lastOffset: f.lastOffset, writer });
          marked.push({ topic, partition: p, firstOffset: f.firstOffset, lastOffset: f.lastOffset, writer });
          continue;
        }
        const movedTo = await lake.moveOut(f);
        log.notice("moved the lake file of an uncommitted batch out of the lake; its rows are read again", { topic, partition: p, file: f.path, movedTo });
      }
      const catchUp = marked.filter((m) => m.writer === writer && m.firstOffset >= (own ?? 0)).sort((a, b) => a.firstOffset - b.firstOffset);
      if (catchUp.length > 0) await addToTable(topic, p, catchUp, mine);
      const next = marked.reduce<number | undefined>((n, m) => Math.max(n ?? 0, m.lastOffset + 1), undefined);
      if (next !== undefined) lakeNext.set(tpKey(topic, p), next);
    }
  }

  /** Ranges this data dir published but did not commit to its table: their rows, from the lake, in one transaction with the offsets. */
  async function addToTable(topic: string, partition: number, ranges: CommitMarker[], files: LakeFile[]): Promise<void> {
    const paths = files.filter((f) => ranges.some((r) => r.firstOffset === f.firstOffset && r.lastOffset === f.lastOffset)).map((f) => ({ topic, path: f.path }));
    const select = opts.kind === "orders" ? rowsOfFiles(paths) : undefined;
    const next = ranges[ranges.length - 1]!.lastOffset + 1;
    await exclusive(async () => {
      if (lake.s3 && select !== undefined) await useS3(db, lake.s3);
      await db.transaction(async () => {
        if (select !== undefined) await appendOrders(db, select);
        await saveOffsets(db, [{ topic, partition, nextOffset: next }]);
      });
    });
    stored.set(tpKey(topic, partition), next);
    log.notice("added to the table what this sink had put in the lake before it stopped", { topic, partition, ranges: ranges.length, nextOffset: next });
  }

  /**
   * One transaction: the batch's orders appended (orders-table.ts), and the offsets past the
   * batch. Before it, the recent ids are settled if enough of them wait (a transaction of its own).
   * Settling is upkeep — the view is exact either way — so it waits for a batch to come: a stop
   * leaves it to the next run (the ids are counted at open), and a one-shot run ends sooner.
   */
  const counts = await sinkOrderCounts(db);
  async function applyToTable(select: string | undefined, rows: number, next: PartitionOffset[]): Promise<void> {
    if (select !== undefined && settleDue(counts, opts.settleMinRows)) {
      const t0 = performance.now();
      const ids = counts.recent;
      counts.rows = await settleRecentOrders(db, ids);
      counts.recent = 0;
      log.info("settled the recent orders", { ids, rowsNow: counts.rows, ms: Math.round(performance.now() - t0) });
    }
    await db.transaction(async () => {
      if (select !== undefined) await appendOrders(db, select);
      await saveOffsets(db, next);
    });
    if (select === undefined) return;
    counts.recent += rows;
    counts.rows += rows;
  }

  /**
   * A batch (or the promise of one) in three stages, so that DuckDB works on two batches at once
   * (one connection each) and a batch's files are published while the next is written:
   * (1) record the first offsets of partitions new to the store, load the rows and write the lake
   * files to a staging folder (the lake's connection); (2) publish them and their commit markers;
   * (3) once `ready` resolves (the dead letters acknowledged), the table transaction, reading the
   * rows back from those files. Batches pass each stage in the order write() was called — the lake's
   * markers and the offsets only move forward; once one fails, every later one fails too (none may
   * commit past it).
   */
  function write(pending: LakeBatchWrite | Promise<LakeBatchWrite>, ready: Promise<unknown> = Promise.resolve()): Promise<WriteResult> {
    const batch = Promise.resolve(pending);
    const copied = lakeStage(
      step(async () => {
        const b = await batch;
        await recordFirstOffsets(b);
        return { b, copy: await stageBatch(b) };
      }),
    );
    const published = lakePublish(
      step(async () => {
        const { b, copy } = await copied;
        return { b, files: await publishBatch(b, copy) };
      }),
    );
    const previous = lastCommit;
    ready.catch(() => {}); // observed below, once the batch's turn comes
    const committed = (async () => {
      const { b, files } = await published;
      await previous;
      await step(() => ready)();
      return exclusive(step(() => commitToTable(b, files)));
    })();
    lastCommit = committed.catch(() => {});
    return committed;
  }
  let lastCommit: Promise<unknown> = Promise.resolve();
  let broken: unknown;
  const step =
    <T>(fn: () => Promise<T>) =>
    async (): Promise<T> => {
      if (broken) throw broken;
      try {
        return await fn();
      } catch (e) {
        broken ??= e;
        throw e;
      }
    };

  /**
   * A partition seen for the first time gets its row in ferry_offsets before its first files
   * exist (a transaction of its own, between the table's).
   */
  async function recordFirstOffsets(batch: LakeBatchWrite): Promise<void> {
    fault("before-write", batch.sequence);
    const unknown = batch.ranges.filter((r) => !stored.has(tpKey(r.topic, r.partition)));
    if (unknown.length === 0) return;
    const first: PartitionOffset[] = unknown.map((r) => ({ topic: r.topic, partition: r.partition, nextOffset: r.firstOffset }));
    await exclusive(() => db.transaction(() => saveOffsets(db, first)));
    for (const o of first) stored.set(tpKey(o.topic, o.partition), o.nextOffset);
  }

  /**
   * The batch's rows go to DuckDB through a file (it reads a file of rows several times faster
   * than one big string parameter), and from there straight into the lake files. Rows hold the
   * values' JSON as sent; if DuckDB refuses one (a key given twice), the batch is written again
   * re-encoded; if it still refuses rows for a reason of their own, those records go to the
   * dead-letter topic and the rest are written (a record never blocks its partition).
   */
  async function stageBatch(batch: LakeBatchWrite): Promise<StagedBatch> {
    if (batch.rows === 0) return { staged: [], refused: [], load: 0, started: performance.now() };
    const ranges = new Map(batch.ranges.map((r) => [tpKey(r.topic, r.partition), r]));
    const range = (topic: string, partition: number) => ranges.get(tpKey(topic, partition))!;
    const select = (file: string) =>
      `SELECT ${layout.lakeColumns}, kafka_topic AS __t, kafka_partition AS __p, ${layout.lakeDate} AS __d FROM (${layout.rowsFromTaggedNdjsonFile(file, batch.segments)})`;
    // A staging folder per batch: the table reads a remote lake's rows from it after the next batch is staged.
    const stagingDir = join(staging, String(batch.sequence));
    const t0 = performance.now();
    writeChunks(batchFile, batch.ndjson);
    const t1 = performance.now();
    let staged: StagedFile[];
    let refused: DeadLetter[] = [];
    try {
      staged = await stageLakeFiles(lakeDb, stagingDir, select(batchFile), range);
    } catch (e) {
      // Only a refused row (a key given twice, bytes that are not UTF-8) is worth a second try.
      if (!mayBeRowFault(e)) throw e;
      log.info("DuckDB refused the batch's rows as sent; writing them re-encoded", { error: errorMessage(e) });
      const rows = normalizeRows(batch.ndjson);
      writeChunks(batchFile, rows);
      try {
        staged = await stageLakeFiles(lakeDb, stagingDir, select(batchFile), range);
      } catch (e) {
        if (!mayBeRowFault(e) || !opts.deadLetters) throw e;
        const lines = splitLines(rows);
        const found = await findRefusedLines(lakeDb, lines, probeFile, select);
        if (found.length === 0) throw e;
        const recordAt = recordsOf(batch.sources);
        refused = found.map((r) => refusedRecord(batch, recordAt, lines[r.index]!, r.reason));
        await opts.deadLetters(refused);
        log.warn("records DuckDB refused were sent to the dead-letter topic", { batch: batch.sequence, count: refused.length, first: `${refused[0]!.topic}/${refused[0]!.partition}@${refused[0]!.offset}`, reason: refused[0]!.reason });
        const out = new Set(found.map((r) => r.index));
        const kept = lines.filter((_, i) => !out.has(i));
        batch.rows = kept.length;
        writeChunks(batchFile, [joinLines(kept)]);
        staged = kept.length === 0 ? [] : await stageLakeFiles(lakeDb, stagingDir, select(batchFile), range);
      }
    }
    batch.ndjson.length = 0; // in DuckDB now: not held while the lake and the table are written
    batch.sources.length = 0;
    return { staged, refused, stagingDir: staged.length === 0 ? undefined : stagingDir, load: Math.round(t1 - t0), started: t1 };
  }

  async function publishBatch(batch: LakeBatchWrite, { staged, refused, stagingDir, load, started }: StagedBatch): Promise<Staged> {
    if (stagingDir === undefined) return { files: [], refused, readable: [], load, lake: 0 };
    const files = await lake.publish(staged, (n) => n === 1 && fault("between-files", batch.sequence));
    // The lake's own record that the batch's files are all there (read by whichever member of the
    // group recovers the partition): one marker per partition range, naming this data dir.
    const perPartition = new Map(files.map((f) => [tpKey(f.topic, f.partition), f]));
    await Promise.all([...perPartition.values()].map((f) => lake.writeMarker({ topic: f.topic, partition: f.partition, firstOffset: f.firstOffset, lastOffset: f.lastOffset, writer })));
    // The table reads the rows back from the lake files (local) or from the staged copies (remote).
    const readable = files.map((f, i) => ({ topic: f.topic, path: lake.localDir ? f.path : staged[i]!.from }));
    if (lake.localDir) await rm(stagingDir, { recursive: true, force: true });
    return { files, refused, readable, stagingDir, load, lake: Math.round(performance.now() - started) };
  }

  async function commitToTable(batch: LakeBatchWrite, staged: Staged): Promise<WriteResult> {
    fault("after-rename", batch.sequence);
    const t0 = performance.now();
    const next: PartitionOffset[] = batch.ranges.map((r) => ({ topic: r.topic, partition: r.partition, nextOffset: r.lastOffset + 1 }));
    await applyToTable(opts.kind === "orders" ? rowsOfFiles(staged.readable) : undefined, batch.rows, next);
    if (staged.stagingDir) await rm(staged.stagingDir, { recursive: true, force: true });
    for (const o of next) stored.set(tpKey(o.topic, o.partition), o.nextOffset);
    const table = Math.round(performance.now() - t0);
    fault("after-commit", batch.sequence);
    return { files: staged.files.map((f) => f.path), refused: staged.refused, ms: { load: staged.load, lake: staged.lake, table } };
  }

  /** A SELECT of the table's columns over lake files just written (the topic is their folder, not a column). */
  function rowsOfFiles(files: { topic: string; path: string }[]): string | undefined {
    if (files.length === 0) return undefined;
    const byTopic = Map.groupBy(files, (f) => f.topic);
    const parts = [...byTopic].map(
      ([topic, fs]) => `SELECT ${layout.lakeColumns}, ${sqlString(topic)} AS kafka_topic FROM read_parquet([${fs.map((f) => sqlString(f.path)).join(", ")}], hive_partitioning = false)`,
    );
    return `SELECT ${layout.rowColumns} FROM (${parts.join(" UNION ALL ")})`;
  }

  return {
    /**
     * Where a partition resumes as far as this store knows: past what this data dir committed, and
     * past the lake's last committed range (after recover()).
     */
    storedOffset(topic: string, partition: number): number | undefined {
      const own = stored.get(tpKey(topic, partition));
      const lakeSays = lakeNext.get(tpKey(topic, partition));
      return own === undefined ? lakeSays : lakeSays === undefined ? own : Math.max(own, lakeSays);
    },
    recover,
    write,
    /** `ferry query` while the sink runs: a read on a connection of its own, never under `exclusive`. */
    query: queryService(db, { lake: { dir: lake.localDir ?? lake.location, emptyLake: layout.emptyLake, s3: lake.s3 }, dataDir: opts.dataDir }),
    close: () =>
      lakeStage(() =>
        lakePublish(() =>
          exclusive(async () => {
            rmSync(batchFile, { force: true });
            rmSync(staging, { recursive: true, force: true });
            db.close();
          }),
        ),
      ),
  };
}

/** NDJSON chunks → one buffer per row (only when a batch was refused). */
function splitLines(chunks: Buffer[]): Buffer[] {
  const all = Buffer.concat(chunks);
  const lines: Buffer[] = [];
  for (let from = 0; from < all.length; ) {
    let to = all.indexOf(0x0a, from);
    if (to < 0) to = all.length;
    if (to > from) lines.push(all.subarray(from, to));
    from = to + 1;
  }
  return lines;
}

const joinLines = (lines: readonly Buffer[]) => Buffer.concat(lines.flatMap((l) => [l, NEWLINE]));
const NEWLINE = Buffer.from("\n");

/**
 * A refused row's dead letter (its lineage names it: "_s" the segment, "_o" the offset): its record
 * as fetched when the batch kept it (rows parsed and checked in full), else a pointer to it (rows
 * checked as their bytes keep nothing in memory: printable ASCII, plain numbers, so a store refusing
 * one is not expected; the record stays readable at its source offset).
 */
function refusedRecord(batch: LakeBatchWrite, recordAt: ReturnType<typeof recordsOf>, line: Buffer, reason: string): DeadLetter {
  const m = /"_s":(\d+),"_o":(\d+)\}$/.exec(line.toString("latin1", Math.max(0, line.length - 64)))!;
  const segment = batch.segments[Number(m[1])]!;
  const offset = m[2]!;
  const record = recordAt(segment.topic, segment.partition, offset);
  if (record) return { topic: segment.topic, partition: segment.partition, offset, reason, record };
  return {
    topic: segment.topic,
    partition: segment.partition,
    offset,
    reason: `${reason} (a record checked as its bytes; not kept in memory: read it at its source offset)`,
    record: { key: null, value: null, offset, timestamp: "-1" },
    pointer: { lastOffset: offset, bytes: line.length },
  };
}

/**
 * Writes the batch file over the previous batch's bytes, then cuts it to length: truncating a
 * file to zero and growing it again allocates new blocks, and the file system (ext4, ordered
 * data) then writes those out at every fsync of the database's log — tens of MB per batch of a
 * file that is read once. Overwritten blocks are not forced out that way.
 */
function writeChunks(path: string, chunks: Buffer[]): void {
  const fd = openSync(path, existsSync(path) ? "r+" : "w");
  try {
    let position = 0;
    for (const c of chunks) {
      for (let at = 0; at < c.length; ) at += writeSync(fd, c, at, c.length - at, position + at);
      position += c.length;
    }
    ftruncateSync(fd, position);
  } finally {
    closeSync(fd);
  }
}

export type LakeBatchStore = Awaited<ReturnType<typeof openLakeBatchStore>>;
