/**
 * `ferry run`'s sink: the orders table of <data-dir>/ferry.duckdb (upsert by order_id), fed
 * through a write-ahead log, and every accepted record rolled into the Parquet lake every interval
 * and on shutdown. Lineage: topic "orders", partition 0, ferry's own sequence as the offset.
 *
 * Durability without a database transaction per request: the orders of concurrent requests are
 * appended to <data-dir>/ferry.wal as one frame and fsynced (group commit); that is when the
 * client gets its 202. Frames are applied to DuckDB in large transactions (rows, journal and the
 * applied sequence together), soon after, and before any query (so `ferry query` reads its
 * writes). After a crash, the frames whose sequence is past the one DuckDB recorded are applied
 * again: nothing acknowledged is lost, nothing is applied twice. The log is emptied once all of
 * it is in the database.
 *
 * A rollup of the journal range [first, last] names every file it writes by that range, so after
 * a crash the lake's file names say which rollup was cut short, and it is redone exactly.
 */
import { createMutex, dataPaths, openDb, sqlString } from "../db/duckdb.ts";
import { type QueryService, queryService } from "../db/query-service.ts";
import type { Logger } from "../log/logger.ts";
import { Coalescer, type FlushObserver } from "../pipeline/coalescer.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import type { ReceivedOrder } from "../schema/order.ts";
import { rm, writeFile } from "node:fs/promises";
import { errorMessage } from "../errors.ts";
import { UnavailableError } from "../pipeline/errors.ts";
import { lakeStaging, stageLakeFiles } from "./lake.ts";
import { attachLake, dataDirLake, type LakeTarget } from "./lake-target.ts";
import { createOrdersTables, ORDER_ROWS, type OrderRow, storedOffsets, upsertOrdersSql, saveOffsets } from "./orders-table.ts";
import { type OpenWalFile, openWriteAheadLog } from "./write-ahead-log.ts";
import { QUARANTINE_DDL, quarantine, type QuarantinedRow } from "./quarantine.ts";
import { findRefusedLines, mayBeRowFault } from "./refused-rows.ts";

export const RUN_TOPIC = "orders";
const PARTITION = 0;
const { lakeColumns: LAKE_COLUMNS, lakeDate: LAKE_DATE_SQL } = ORDER_ROWS;

export interface EmbeddedOrderSinkOptions {
  dataDir: string;
  /** Where the lake is (default: the local folder <data-dir>/lake). */
  lake?: LakeTarget;
  rollupIntervalMs: number;
  lingerMs: number;
  maxBatchRecords: number;
  onFlush?: FlushObserver;
  /** Opens the write-ahead log's files (default: the file system's; tests inject faults). */
  walFiles?: OpenWalFile;
}

export interface EmbeddedOrderSink extends OrderSink {
  /** Runs SQL as a read on a connection of its own, with the lake view (for `ferry query` while `ferry run` holds the file). */
  query: QueryService;
  /** Rolls the journal into the lake now; resolves with the number of rows written. */
  rollup(): Promise<number>;
}

/** Rows acknowledged but not yet in DuckDB, past this many, make new writes wait for the database. */
const MAX_UNAPPLIED = 100_000;
/** Frames are applied this long after the first unapplied one (or at once past APPLY_ROWS). */
const APPLY_DELAY_MS = 200;
const APPLY_ROWS = 20_000;
/** A rollup into the lake starts once this many rows are waiting, whatever the interval. */
const ROLLUP_ROWS = 60_000;

export async function openEmbeddedOrderSink(opts: EmbeddedOrderSinkOptions, log: Logger): Promise<EmbeddedOrderSink> {
  const paths = dataPaths(opts.dataDir);
  const db = await openDb(paths.database);
  // Small frequent transactions gain nothing from many threads; memory stays bounded (it spills).
  await db.exec(`SET threads = 1`);
  await db.exec(`SET memory_limit = '64MB'`);
  await db.exec(`SET allocator_flush_threshold = '8MB'`);
  await db.exec(`SET checkpoint_threshold = '4MB'`);
  const exclusive = createMutex();
  await createOrdersTables(db);
  const lake = opts.lake ?? dataDirLake(opts.dataDir);
  await attachLake(db, lake);
  await db.exec(`CREATE TABLE IF NOT EXISTS ferry_journal AS SELECT * FROM orders LIMIT 0`);
  await db.exec(QUARANTINE_DDL);
  /** Every row below this sequence is in DuckDB. */
  let applied = (await storedOffsets(db, RUN_TOPIC)).get(PARTITION) ?? 0;
  let nextSeq = applied;
  /** Frames (rows as JSON lines) acknowledged and not yet in DuckDB, in sequence order. */
  let unapplied: string[] = [];
  let unappliedRows = 0;

  const applyFile = `${paths.wal}.apply.ndjson`;
  /**
   * One transaction: the rows into the journal and the table, and how far they go. `ndjson` has
   * one row per line; DuckDB reads it from a file (its JSON reader streams; a parameter is parsed whole).
   */
  async function applyRows(ndjson: string, next: number, refused: readonly QuarantinedRow[] = []): Promise<void> {
    await writeFile(applyFile, ndjson);
    await db.transaction(async () => {
      if (ndjson !== "") {
        await db.exec(`INSERT INTO ferry_journal ${ORDER_ROWS.rowsFromNdjsonFile(applyFile)}`);
        await db.exec(upsertOrdersSql(`SELECT * FROM ferry_journal WHERE kafka_offset >= ${applied}`));
      }
      await quarantine(db, refused);
      await saveOffsets(db, [{ topic: RUN_TOPIC, partition: PARTITION, nextOffset: next }]);
    });
    applied = next;
  }

  /**
   * applyRows, and when the table refuses rows for a reason of their own: those rows go to the
   * quarantine, the rest are applied, in one transaction (an acknowledged order never blocks the
   * ones behind it, nor a restart). Any other failure stands (the rows stay in the log, retried).
   */
  const probeFile = `${paths.wal}.probe.ndjson`;
  async function applyOrQuarantine(ndjson: string, next: number): Promise<void> {
    try {
      await applyRows(ndjson, next);
      return;
    } catch (e) {
      if (!mayBeRowFault(e)) throw e;
      const lines = ndjson.split("\n");
      const refused = await findRefusedLines(db, lines, probeFile, ORDER_ROWS.rowsFromNdjsonFile);
      if (refused.length === 0) throw e;
      const out = new Set(refused.map((r) => r.index));
      const rows = refused.map((r) => ({ seq: (JSON.parse(lines[r.index]!) as OrderRow).kafka_offset, reason: r.reason, record: lines[r.index]! }));
      await applyRows(lines.filter((_, i) => !out.has(i)).join("\n"), next, rows);
      log.warn("acknowledged orders the table refused were moved to the quarantine (table rejected)", { count: rows.length, firstSeq: rows[0]!.seq, reason: rows[0]!.reason });
    }
  }

  const wal = await openWriteAheadLog(paths.wal, { log, open: opts.walFiles });
  // Recovery: frames acknowledged before a crash and not yet in DuckDB (damaged regions are logged by the log).
  const replay: OrderRow[] = [];
  let replayNext = applied; // each sequence once, also from a log of the previous format (no ranges in its frames)
  for (const frame of (await wal.readAll()).frames) {
    if (frame.firstSeq !== undefined && frame.firstSeq + frame.count! <= applied) continue;
    for (const line of frame.payload.toString("utf8").split("\n")) {
      const row = JSON.parse(line) as OrderRow;
      if (row.kafka_offset < replayNext) continue;
      replay.push(row);
      replayNext = row.kafka_offset + 1;
    }
  }
  if (replay.length > 0) {
    await applyOrQuarantine(replay.map((r) => JSON.stringify(r)).join("\n"), replay[replay.length - 1]!.kafka_offset + 1);
    nextSeq = applied;
    log.notice("applied orders from the write-ahead log", { rows: replay.length });
  }
  await wal.clear();

  let applyTimer: ReturnType<typeof setTimeout> | undefined;
  const applyWaiters: (() => void)[] = [];
  /** Why the last apply failed (cleared by the next one that succeeds). */
  let applyError: unknown;

  /** Applies every acknowledged frame (call inside `exclusive`). */
  async function applyPending(): Promise<void> {
    if (unapplied.length === 0) return;
    const frames = unapplied;
    const rows = unappliedRows;
    // Where the frames end (past any sequences of a failed append: they are never used again).
    const next = nextSeq;
    unapplied = [];
    unappliedRows = 0;
    const json = frames.join("\n");
    try {
      await applyOrQuarantine(json, next);
    } catch (e) {
      unapplied = frames.concat(unapplied);
      unappliedRows += rows;
      throw e;
    } finally {
      for (const w of applyWaiters.splice(0)) w();
    }
    if (applyError !== undefined) log.notice("acknowledged orders are being applied to the database again");
    applyError = undefined;
    await wal.release(applied);
  }

  const apply = () =>
    exclusive(applyPending).catch((e) => {
      if (applyError === undefined) log.error("applying acknowledged orders to the database failed; they stay in the write-ahead log and are retried", { error: e });
      applyError = e;
      applyTimer ??= setTimeout(() => {
        applyTimer = undefined;
        void apply().catch(() => {});
      }, 1000);
      throw e;
    });
  const scheduleApply = () => {
    if (unappliedRows >= APPLY_ROWS) {
      clearTimeout(applyTimer);
      applyTimer = undefined;
      void apply().catch(() => {});
    } else applyTimer ??= setTimeout(() => {
      applyTimer = undefined;
      void apply().catch(() => {});
    }, APPLY_DELAY_MS);
  };

  const staging = lakeStaging(opts.dataDir);

  /** Writes journal rows of [first, last] to the lake (one file per date; a redo writes the same names), then drops them. */
  async function rollRange(first: number, last: number): Promise<number> {
    const where = `kafka_offset BETWEEN ${first} AND ${last}`;
    const select = `SELECT ${LAKE_COLUMNS}, ${sqlString(RUN_TOPIC)} AS __t, ${PARTITION} AS __p, ${LAKE_DATE_SQL} AS __d FROM ferry_journal WHERE ${where} ORDER BY kafka_offset`;
    await lake.publish(await stageLakeFiles(db, staging, select, () => ({ firstOffset: first, lastOffset: last })));
    await rm(staging, { recursive: true, force: true });
    const n = await db.query(`SELECT count(*) FROM ferry_journal WHERE ${where}`);
    await db.exec(`DELETE FROM ferry_journal WHERE kafka_offset <= ${last}`);
    return Number(n.rows[0]![0]);
  }

  // Recovery: a rollup whose files exist while its rows are still in the journal was cut short.
  const journal = await db.query(`SELECT min(kafka_offset), max(kafka_offset) FROM ferry_journal`);
  const journalMin = journal.rows[0]![0] === null ? undefined : Number(journal.rows[0]![0]);
  if (journalMin !== undefined) {
    const ranges = new Map<number, number>();
    for (const f of await lake.list(RUN_TOPIC)) if (f.partition === PARTITION && f.lastOffset >= journalMin) ranges.set(f.firstOffset, f.lastOffset);
    for (const [first, last] of [...ranges].sort((a, b) => a[0] - b[0])) {
      const rows = await rollRange(first, last);
      log.notice("redid an interrupted lake rollup", { first, last, rows });
    }
  }

  const coalescer = new Coalescer<ReceivedOrder>({
    maxItems: opts.maxBatchRecords,
    lingerMs: opts.lingerMs,
    maxInFlight: 1,
    onFlush: opts.onFlush,
    flush: async (orders) => {
      // Backpressure: the database must keep up with what is acknowledged.
      while (unappliedRows > MAX_UNAPPLIED) {
        if (applyError !== undefined) throw new UnavailableError(`the database does not take orders now: ${errorMessage(applyError)}`);
        await new Promise<void>((r) => applyWaiters.push(r));
      }
      const ingestedAt = new Date().toISOString();
      const first = nextSeq;
      const rows: OrderRow[] = orders.map((o, i) => ({ ...o, kafka_topic: RUN_TOPIC, kafka_partition: PARTITION, kafka_offset: first + i, ingested_at: ingestedAt }));
      const json = rows.map((r) => JSON.stringify(r)).join("\n");
      try {
        await wal.append(Buffer.from(json, "utf8"), first, rows.length);
      } finally {
        // A sequence is handed out once, also when its append failed (answered 503; the log took its bytes back).
        nextSeq = first + rows.length;
      }
      unapplied.push(json);
      unappliedRows += rows.length;
      scheduleApply();
      sinceRollup += rows.length;
      if (sinceRollup >= ROLLUP_ROWS) rollInBackground();
    },
  });

  /** Rows acknowledged since the last rollup began. */
  let sinceRollup = 0;
  let rolling: Promise<number> | undefined;
  const rollup = () =>
    exclusive(async () => {
      sinceRollup = 0;
      await applyPending();
      const r = await db.query(`SELECT min(kafka_offset), max(kafka_offset) FROM ferry_journal`);
      if (r.rows[0]![0] === null) return 0;
      const rows = await rollRange(Number(r.rows[0]![0]), Number(r.rows[0]![1]));
      log.info("rolled journal into the lake", { rows });
      return rows;
    });
  const rollInBackground = () => {
    rolling ??= rollup()
      .catch((e) => {
        log.error("lake rollup failed; rows stay in the journal and are retried", { error: e });
        return 0;
      })
      .finally(() => (rolling = undefined));
  };

  // Every interval, and whenever ROLLUP_ROWS are waiting: a rollup of a few seconds of a busy
  // ingress keeps the Parquet writer's memory small (one of 10 s at 30k/s peaked ~40 MB higher).
  const timer = setInterval(rollInBackground, opts.rollupIntervalMs);

  return {
    ready: () => applyError === undefined || unappliedRows <= MAX_UNAPPLIED,
    get notReadyReason() {
      return applyError === undefined ? undefined : "the database refused acknowledged orders (see the log)";
    },
    write: (orders) => coalescer.submit(orders),
    // Read your writes: what was acknowledged is applied first; the query then runs on its own connection, outside `exclusive`.
    query: queryService(db, { lake: { dir: lake.localDir ?? lake.location, emptyLake: ORDER_ROWS.emptyLake, s3: lake.s3 }, dataDir: opts.dataDir, before: () => exclusive(applyPending) }),
    rollup,
    async close() {
      clearInterval(timer);
      clearTimeout(applyTimer);
      await coalescer.drain();
      await rollup();
      await exclusive(async () => {
        await wal.clear();
        await wal.close();
        await rm(applyFile, { force: true });
        db.close();
      });
    },
  };
}
