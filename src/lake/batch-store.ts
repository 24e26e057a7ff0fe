/**
 * Micro-batches from Kafka into the lake's catalog, exactly once: one catalog transaction per batch
 * adds its rows to the lake table and moves its partitions' offsets (offsets.ts), so a batch is in
 * the lake whole or not at all, and a writer that lost a partition (a zombie) commits nothing.
 * Kafka offsets are committed by the source after this returns; on assignment a partition resumes
 * from the catalog's offset.
 *
 * Per batch, in the order write() was called:
 *  1. stage: the rows (a file of JSON lines) are loaded by DuckDB into a table in memory (the
 *     staging connection), refused rows found and dead-lettered;
 *  2. commit: once the dead letters are acknowledged (`ready`), one transaction on the catalog
 *     connection: the offsets moved (checked), the staged rows inserted into the lake (DuckLake
 *     writes their Parquet files, or keeps a small batch inlined in the catalog), COMMIT.
 * A batch is staged while the one before it commits (two DuckDB connections). Once one fails, every
 * later one fails too (none may commit past it). Files of a transaction that never committed (a
 * kill during it) are removed by the catalog's cleanup (maintenance.ts).
 */
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createMutex, type Db, openDb } from "../db/duckdb.ts";
import { queryService } from "../db/query-service.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { type DecodedBatch, normalizeRows, recordsOf } from "../pipeline/decode.ts";
import { tpKey } from "../pipeline/partitions.ts";
import type { RecordKind } from "../schema/kinds.ts";
import { quoteIdent } from "../schema/ddl.ts";
import type { DeadLetter } from "../sinks/dead-letters.ts";
import { rowLayout } from "../sinks/record-rows.ts";
import { findRefusedLines, mayBeRowFault } from "../sinks/refused-rows.ts";
import { adoptLegacyLake } from "./adopt.ts";
import { backOff, metAnotherWriter } from "./contention.ts";
import { attachCatalog, type Catalog, type DataPath, LAKE_DB } from "./catalog.ts";
import { createOffsetsSchema, FencedError, movedOn, moveOffsets, type OffsetMove, readOffset } from "./offsets.ts";
import { offerLakeViews } from "./read.ts";
import { createLakeTables, lakeDateSql, lakeTableOf } from "./tables.ts";

/** Points of a batch where a test can make the process die (kill -9 itself). */
export const FAULT_POINTS = ["before-write", "staged", "in-commit", "after-commit", "after-kafka-commit"] as const;
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
  /** Working files (the batch being loaded) and, by default, the catalog and the lake. */
  dataDir: string;
  catalog: Catalog;
  dataPath: DataPath;
  /** Names this writer in the offsets it moves (e.g. "group g member <uuid>"). */
  writer: string;
  /** Who may write the lake's partitions (e.g. "group g"): a partition last moved by a writer not named "<owner> …" is refused. */
  owner?: string;
  kind: RecordKind;
  /** DuckDB's memory limit (its caches and working memory; it spills to disk above it). */
  memoryLimitMb: number;
  /** DuckDB's worker threads (the decoding runs on the JS thread beside them). */
  threads: number;
  /** Called at each fault point of a batch (tests use it to kill the process there). */
  fault?: (point: FaultPoint, sequence: number) => void;
  /**
   * Sends records whose rows DuckDB refuses (a reason of their own) to the dead-letter topic;
   * resolves once acknowledged. Without it such a batch fails.
   */
  deadLetters?: (rejected: DeadLetter[]) => Promise<void>;
  /** Told when a batch's commit failed for a passing reason other than another writer (the catalog's server unreachable) and is tried again. */
  onCommitRetry?: (error: unknown) => void;
}

export interface WriteResult {
  /** Rows added to the lake. */
  rows: number;
  /** Records whose rows DuckDB refused, sent to the dead-letter topic (see stageBatch). */
  refused: DeadLetter[];
  /** The catalog's snapshot right after the batch committed (its own, or a later one of another writer's). */
  snapshot: number | undefined;
  /** Milliseconds spent loading the rows and committing them. */
  ms: { load: number; stage: number; commit: number };
}

interface StagedBatch {
  table?: string;
  rows: number;
  refused: DeadLetter[];
  load: number;
  stage: number;
}

/**
 * Errors after which a batch's commit is tried again (once the offsets say it did not happen and no
 * other writer moved them): a conflict with another writer's commit on something else than the
 * batch's partitions, a SQLite catalog busy, the catalog's server unreachable.
 */
const SERVER_GONE = /connection|server closed|could not connect|terminat|timed? ?out|broken pipe|reset by peer|IO Error|Failed to commit|transaction is aborted|unsuccessful query result/i;
const passing = (e: unknown) => metAnotherWriter(e) || SERVER_GONE.test(errorMessage(e));
/** How long a batch's commit is tried again before the sink gives up (and is read again on restart). */
const COMMIT_PATIENCE_MS = 120_000;

export async function openLakeBatchStore(opts: LakeBatchStoreOptions, log: Logger) {
  const layout = rowLayout(opts.kind);
  const lakeTable = `${LAKE_DB}.main.${quoteIdent(lakeTableOf(opts.kind))}`;
  const db: Db = await openDb(":memory:");
  // DuckDB would cache up to 80% of RAM; a sink runs beside other things and stays bounded.
  await db.exec(`SET memory_limit = '${Math.floor(opts.memoryLimitMb)}MB'`);
  await db.exec(`SET threads = ${Math.max(1, Math.floor(opts.threads))}`);
  await db.exec(`SET temp_directory = '${join(opts.dataDir, ".duckdb-spill").replaceAll("'", "''")}'`);
  // Members starting together on a new catalog make it and its tables at the same time: the later
  // one's transaction conflicts (or finds them made) and looks again.
  let attached = false;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!attached) await attachCatalog(db, opts.catalog, opts.dataPath);
      attached = true;
      await createLakeTables(db, opts.kind);
      await createOffsetsSchema(db);
      // A lake and table of the previous release (files of ferry's own, ferry.duckdb): adopted once.
      await adoptLegacyLake(db, { dataDir: opts.dataDir, dataPath: opts.dataPath, kind: opts.kind, writer: opts.writer }, log);
      break;
    } catch (e) {
      if (attempt >= 8 || !(metAnotherWriter(e) || /already exists|Failed to initialize DuckLake/i.test(errorMessage(e)))) {
        db.close();
        throw e;
      }
      log.info("making the catalog's tables met another writer's; trying again", { attempt, error: errorMessage(e) });
      await backOff(attempt, 50);
    }
  }
  /** The catalog's connection (batch transactions) and the staging connection (loading rows). */
  const stageDb = await db.connect();
  /** Maintenance's connection: a merge of minutes runs beside the batches' commits, not before them. */
  const maintenanceDb = await db.connect();
  const maintenanceTurn = createMutex();
  const exclusive = createMutex();
  const stageTurn = createMutex();
  /** Per partition, the next offset as this writer holds it (read from the catalog at assignment, moved by its commits). */
  const held = new Map<string, number>();
  const batchFile = join(opts.dataDir, `.batch-${process.pid}.ndjson`);
  const probeFile = join(opts.dataDir, `.batch-${process.pid}.probe.ndjson`);
  // Leftovers of killed processes: never in the lake, safe to drop.
  for (const f of readdirSync(opts.dataDir)) if (/^\.batch-\d+/.test(f)) rmSync(join(opts.dataDir, f), { force: true });
  const fault = opts.fault ?? (() => {});

  /** Newly assigned partitions: their offsets as the catalog has them now (another member may have moved them). */
  async function recover(topic: string, partitions: number[]): Promise<void> {
    if (partitions.length === 0) return;
    const states = await exclusive(() => Promise.all(partitions.map((p) => readOffset(db, topic, p))));
    for (const [i, p] of partitions.entries()) {
      const state = states[i];
      // A partition written by others (another consumer group, a ferry run) would be written twice: refused.
      if (state && opts.owner && !state.writer.startsWith(`${opts.owner} `) && state.writer !== opts.owner) {
        throw new ConfigError(`the lake's partition ${topic}/${p} is written by ${state.writer.replace(/ member \S+$/, "")}, not ${opts.owner}: the sinks of one consumer group share a lake; give others a catalog of their own (--catalog)`);
      }
      const k = tpKey(topic, p);
      if (state === undefined) held.delete(k);
      else held.set(k, state.next);
    }
  }

  function write(pending: LakeBatchWrite | Promise<LakeBatchWrite>, ready: Promise<unknown> = Promise.resolve()): Promise<WriteResult> {
    const batch = Promise.resolve(pending);
    const staged = stageTurn(
      step(async () => {
        const b = await batch;
        fault("before-write", b.sequence);
        return { b, s: await stageBatch(b) };
      }),
    );
    const previous = lastCommit;
    ready.catch(() => {}); // observed below, once the batch's turn comes
    const committed = (async () => {
      const { b, s } = await staged;
      await previous;
      await step(() => ready)();
      return exclusive(step(() => commitBatch(b, s)));
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
   * The batch's rows go to DuckDB through a file (it reads a file of rows several times faster
   * than one big string parameter) into a table in memory. Rows hold the values' JSON as sent; if
   * DuckDB refuses one (a key given twice), the batch is loaded again re-encoded; if it still
   * refuses rows for a reason of their own, those records go to the dead-letter topic and the rest
   * are loaded (a record never blocks its partition).
   */
  async function stageBatch(batch: LakeBatchWrite): Promise<StagedBatch> {
    if (batch.rows === 0) return { rows: 0, refused: [], load: 0, stage: 0 };
    const table = `memory.main.batch_${batch.sequence}`;
    const select = (file: string) => `SELECT ${layout.rowColumns}, ${lakeDateSql(opts.kind)} AS date FROM (${layout.rowsFromTaggedNdjsonFile(file, batch.segments)})`;
    const load = (file: string) => stageDb.exec(`CREATE OR REPLACE TABLE ${table} AS ${select(file)}`);
    const t0 = performance.now();
    writeChunks(batchFile, batch.ndjson);
    const t1 = performance.now();
    let refused: DeadLetter[] = [];
    let rows = batch.rows;
    try {
      await load(batchFile);
    } catch (e) {
      // Only a refused row (a key given twice, bytes that are not UTF-8) is worth a second try.
      if (!mayBeRowFault(e)) throw e;
      log.info("DuckDB refused the batch's rows as sent; loading them re-encoded", { error: errorMessage(e) });
      const normalized = normalizeRows(batch.ndjson);
      writeChunks(batchFile, normalized);
      try {
        await load(batchFile);
      } catch (e) {
        if (!mayBeRowFault(e) || !opts.deadLetters) throw e;
        const lines = splitLines(normalized);
        const found = await findRefusedLines(stageDb, lines, probeFile, select);
        if (found.length === 0) throw e;
        const recordAt = recordsOf(batch.sources);
        refused = found.map((r) => refusedRecord(batch, recordAt, lines[r.index]!, r.reason));
        await opts.deadLetters(refused);
        log.warn("records DuckDB refused were sent to the dead-letter topic", { batch: batch.sequence, count: refused.length, first: `${refused[0]!.topic}/${refused[0]!.partition}@${refused[0]!.offset}`, reason: refused[0]!.reason });
        const out = new Set(found.map((r) => r.index));
        const kept = lines.filter((_, i) => !out.has(i));
        rows = kept.length;
        writeChunks(batchFile, [joinLines(kept)]);
        if (kept.length > 0) await load(batchFile);
      }
    }
    batch.ndjson.length = 0; // in DuckDB now: not held while the batch commits
    batch.sources.length = 0;
    fault("staged", batch.sequence);
    return { table: rows > 0 ? table : undefined, rows, refused, load: Math.round(t1 - t0), stage: Math.round(performance.now() - t1) };
  }

  /**
   * The batch's transaction: its partitions' offsets moved from where this writer holds them (a
   * partition moved on by another writer fails it: FencedError), its rows inserted into the lake.
   * A conflict at COMMIT with another transaction on the same partition is a fence too; one on
   * something else (maintenance rewriting files) is tried again.
   */
  async function commitBatch(batch: LakeBatchWrite, staged: StagedBatch): Promise<WriteResult> {
    const t0 = performance.now();
    const moves: OffsetMove[] = batch.ranges.map((r) => ({ topic: r.topic, partition: r.partition, from: held.get(tpKey(r.topic, r.partition)), to: r.lastOffset + 1 }));
    try {
      const started = performance.now();
      let troubled = false;
      for (let attempt = 1; ; attempt++) {
        try {
          await db.transaction(async () => {
            await moveOffsets(db, moves, opts.writer);
            if (staged.table) await db.exec(`INSERT INTO ${lakeTable} SELECT * FROM ${staged.table}`);
            // The snapshot says who wrote it and what: each partition's offset range.
            const ranges = batch.ranges.map((r) => `${r.topic}/${r.partition}:${r.firstOffset}-${r.lastOffset}`).join(" ");
            await db.exec(`CALL ${LAKE_DB}.set_commit_message($1, $2, extra_info => $3)`, [opts.writer, `batch ${batch.sequence}: ${staged.rows} rows`, JSON.stringify({ ranges })]);
            fault("in-commit", batch.sequence);
          });
          if (troubled) log.notice("the batch committed after all", { batch: batch.sequence, attempts: attempt });
          break;
        } catch (e) {
          // A conflict with another writer's commit, a SQLite catalog busy with one, or the catalog's
          // server unreachable: what happened is read back from the offsets.
          // A fence is read back too: it may be this writer's own earlier attempt (committed, its
          // answer lost), or a partition's first move failing for want of the server.
          if (!(e instanceof FencedError) && !passing(e)) throw e;
          const outcome = await commitOutcome(moves).catch(() => "unknown" as const);
          if (outcome === "committed") {
            log.notice("the batch's commit answered an error, but the catalog has it", { batch: batch.sequence, error: errorMessage(e) });
            break;
          }
          if (outcome instanceof FencedError) throw outcome;
          if (performance.now() - started > COMMIT_PATIENCE_MS) throw e;
          // Another writer's commit first (a conflict elsewhere, SQLite's lock) is the normal lot of several writers; anything else is news.
          const contended = metAnotherWriter(e);
          const fields = { batch: batch.sequence, error: errorMessage(e), patienceMs: COMMIT_PATIENCE_MS };
          if (troubled) {
            // logged once while it lasts
          } else if (contended) log.info("the batch's commit met another writer's; trying again", fields);
          else log.warn("the batch's commit failed; trying again", fields);
          if (!contended) opts.onCommitRetry?.(e);
          troubled = true;
          await backOff(attempt, 20, 5000);
        }
      }
    } finally {
      // Never in place of the batch's own error (a catalog that broke DuckDB fails this too).
      if (staged.table) await db.exec(`DROP TABLE IF EXISTS ${staged.table}`).catch(() => {});
    }
    for (const m of moves) held.set(tpKey(m.topic, m.partition), m.to);
    // The catalog's snapshot right after the commit: the batch's own, or a later one of another writer's.
    // The batch is committed: a catalog gone just after it leaves the snapshot unknown, not the batch failed.
    const snapshot = await db.query(`SELECT id FROM ${LAKE_DB}.current_snapshot()`).then((r) => Number(r.rows[0]![0]), () => undefined);
    fault("after-commit", batch.sequence);
    return { rows: staged.rows, refused: staged.refused, snapshot, ms: { load: staged.load, stage: staged.stage, commit: Math.round(performance.now() - t0) } };
  }

  /**
   * After a commit that failed or whose answer was lost: "committed" (every partition at the
   * batch's end, moved by this writer), "not committed" (every partition where this writer held
   * it: trying again is safe), or a FencedError (another writer moved one).
   */
  async function commitOutcome(moves: readonly OffsetMove[]): Promise<"committed" | "not committed" | FencedError> {
    const states = await Promise.all(moves.map((m) => readOffset(db, m.topic, m.partition)));
    if (moves.every((m, i) => states[i]?.next === m.to && states[i]?.writer === opts.writer)) return "committed";
    for (const [i, m] of moves.entries()) {
      const there = states[i]?.next;
      if (there !== m.from) return movedOn(m, there, String(states[i]?.writer));
    }
    return "not committed";
  }

  return {
    /** Where a partition resumes: the catalog's offset as read at its assignment, moved by this writer's commits. */
    storedOffset(topic: string, partition: number): number | undefined {
      return held.get(tpKey(topic, partition));
    },
    recover,
    write,
    /** Runs `fn` on a connection of its own to the catalog (maintenance: beside the batches' commits, one run at a time). */
    maintenance: <T>(fn: (db: Db) => Promise<T>) => maintenanceTurn(() => fn(maintenanceDb)),
    /** `ferry query` while the sink runs: a read on a connection of its own, never under `exclusive`. */
    query: queryService(db, {
      lockdown: { dirs: [opts.dataDir, opts.dataPath.url], s3: opts.dataPath.s3 },
      offer: (conn) => conn.exec(`USE ${LAKE_DB}`),
      // Time travel through the socket (ferry query --snapshot/--at): both tables at that snapshot.
      offerAt: opts.kind === "orders" ? (conn, at) => conn.exec(`USE ${LAKE_DB}`).then(() => offerLakeViews(conn, at)) : undefined,
    }),
    close: () =>
      stageTurn(() =>
        exclusive(async () => {
          await maintenanceTurn(async () => maintenanceDb.close());
          rmSync(batchFile, { force: true });
          db.close();
        }),
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
 * data) then writes those out at every fsync — tens of MB per batch of a file that is read once.
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
