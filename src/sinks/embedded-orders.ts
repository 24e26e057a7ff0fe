/**
 * `ferry run`'s sink: the orders table of <data-dir>/ferry.duckdb (upsert by order_id), fed
 * through a write-ahead log, and every accepted record rolled into the `lake` table of the lake's
 * catalog (DuckLake; by default <data-dir>/lake.ducklake) every interval and on shutdown.
 * Lineage: topic "orders", partition 0, ferry's own sequence as the offset.
 *
 * Durability without a database transaction per request: the orders of concurrent requests are
 * appended to <data-dir>/ferry.wal as one frame and fsynced (group commit); that is when the
 * client gets its 202. Frames are applied to DuckDB in large transactions (rows, journal and the
 * applied sequence together), soon after, and before any query (so `ferry query` reads its
 * writes). After a crash, the frames whose sequence is past the one DuckDB recorded are applied
 * again: nothing acknowledged is lost, nothing is applied twice. The log is emptied once all of
 * it is in the database.
 *
 * Rolled rows leave the journal exactly once, across a kill at any point. DuckDB writes one
 * attached database per transaction, so a rollup of the journal range [first, last] is two:
 *  1. in the catalog: the range's rows inserted into `lake` and the run's offset (topic "orders",
 *     partition 0) moved to last + 1, as one snapshot;
 *  2. in ferry.duckdb: the journal rows up to `last` dropped.
 * Journal rows below the catalog's offset are in the lake already (a kill between 1 and 2): they
 * are dropped at start and before each rollup. The offset moves only from where this data dir left
 * it, under its writer id (kept in ferry.duckdb): a catalog whose orders/0 another writer moved
 * stops the rollups (FencedError), and its rows are never taken for this one's.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createMutex, dataPaths, type Db, openDb } from "../db/duckdb.ts";
import { type QueryService, queryService } from "../db/query-service.ts";
import type { Logger } from "../log/logger.ts";
import { Coalescer, type FlushObserver } from "../pipeline/coalescer.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import type { ReceivedOrder } from "../schema/order.ts";
import { rm, writeFile } from "node:fs/promises";
import { ConfigError, errorMessage } from "../errors.ts";
import { UnavailableError } from "../pipeline/errors.ts";
import { attachCatalog, type Catalog, catalogFileOf, catalogOf, type DataPath, LAKE_DB } from "../lake/catalog.ts";
import { adoptLegacyLake } from "../lake/adopt.ts";
import { createOffsetsSchema, FencedError, moveOffsets, readOffset } from "../lake/offsets.ts";
import { maintain, type MaintenancePolicy } from "../lake/maintenance.ts";
import { catalogDataPath, offerLakeViews } from "../lake/read.ts";
import { createLakeTables, lakeDateSql, lakeTableOf } from "../lake/tables.ts";
import { createOrdersTables, ORDER_ROWS, type OrderRow, storedOffsets, upsertOrdersSql, saveOffsets } from "./orders-table.ts";
import { type OpenWalFile, openWriteAheadLog } from "./write-ahead-log.ts";
import { QUARANTINE_DDL, quarantine, type QuarantinedRow } from "./quarantine.ts";
import { findRefusedLines, mayBeRowFault } from "./refused-rows.ts";

export const RUN_TOPIC = "orders";
const PARTITION = 0;
const LAKE_TABLE = `${LAKE_DB}.main.${lakeTableOf("orders")}`;

/** Points of a rollup where a test can make the process die (kill -9 itself). */
export const ROLLUP_FAULT_POINTS = ["rollup-start", "in-lake-commit", "lake-committed", "journal-dropped"] as const;
export type RollupFaultPoint = (typeof ROLLUP_FAULT_POINTS)[number];

export interface EmbeddedOrderSinkOptions {
  dataDir: string;
  /** The lake's catalog (default: the DuckDB file <data-dir>/lake.ducklake). */
  catalog?: Catalog;
  /** Where a new catalog keeps the lake's files (default: the folder <data-dir>/lake). */
  dataPath?: DataPath;
  rollupIntervalMs: number;
  lingerMs: number;
  maxBatchRecords: number;
  onFlush?: FlushObserver;
  /** Opens the write-ahead log's files (default: the file system's; tests inject faults). */
  walFiles?: OpenWalFile;
  /** Lake maintenance (src/lake/maintenance.ts) between rollups, at most every `everyMs` (undefined: none). */
  maintenance?: { policy: MaintenancePolicy; everyMs: number };
  /** DuckDB's memory limit in MiB (default DEFAULT_DB_MEMORY_MB; it spills table data to disk beyond). */
  memoryLimitMb?: number;
  /** Called at each point of a rollup with rows (numbered from 1 in this process): tests kill the process there. */
  fault?: (point: RollupFaultPoint, rollup: number) => void;
  /** Told after each rollup that moved rows or failed (the status page's last rollups). */
  onRollup?: (rollup: { rows: number; ms: number; error?: unknown }) => void;
}

export interface EmbeddedOrderSink extends OrderSink {
  /** Runs SQL as a read on a connection of its own: the local `orders`, the catalog's `lake` (`ferry query` while `ferry run` holds the files). */
  query: QueryService;
  /** Rolls the journal into the catalog's lake now; resolves with the number of rows written. */
  rollup(): Promise<number>;
  /** Orders acknowledged-to-be waiting for a write slot (in the write-ahead log's queue). */
  waiting(): number;
  /** Rows acknowledged and not yet rolled into the lake (sequences handed out past the catalog's offset). */
  journalRows(): number;
}

/** Rows acknowledged but not yet in DuckDB, past this many, make new writes wait for the database. */
const MAX_UNAPPLIED = 100_000;
/** Frames are applied this long after the first unapplied one (or at once past APPLY_ROWS). */
const APPLY_DELAY_MS = 200;
const APPLY_ROWS = 20_000;
/**
 * DuckDB's memory for the keyed orders table: upserts into a table of millions of orders need it
 * (measured: at 64 MiB, applying stopped after ~1.2 million distinct orders, and so did the next
 * start, with the backlog in the write-ahead log; at 512 MiB the same data dir started and applied it).
 */
export const DEFAULT_DB_MEMORY_MB = 512;
/** A rollup into the lake starts once this many rows are waiting, whatever the interval. */
const ROLLUP_ROWS = 60_000;

export async function openEmbeddedOrderSink(opts: EmbeddedOrderSinkOptions, log: Logger): Promise<EmbeddedOrderSink> {
  const paths = dataPaths(opts.dataDir);
  const db = await openDb(paths.database);
  // Small frequent transactions gain nothing from many threads; memory stays bounded (it spills).
  await db.exec(`SET threads = 1`);
  await db.exec(`SET memory_limit = '${Math.floor(opts.memoryLimitMb ?? DEFAULT_DB_MEMORY_MB)}MB'`);
  await db.exec(`SET allocator_flush_threshold = '8MB'`);
  await db.exec(`SET checkpoint_threshold = '4MB'`);
  const exclusive = createMutex();
  await createOrdersTables(db);
  await db.exec(`CREATE TABLE IF NOT EXISTS ferry_journal AS SELECT * FROM orders LIMIT 0`);
  await db.exec(QUARANTINE_DDL);
  const writer = await runWriterId(db);
  let catalog: Catalog;
  let dataPath: DataPath;
  try {
    catalog = await runCatalog(db, opts);
    // An existing catalog keeps the data path it was made with (none given: the one it records); a new one gets the default.
    const file = catalogFileOf(catalog);
    const given = opts.dataPath ?? (file !== undefined && existsSync(file) ? undefined : { url: `${resolve(paths.lake)}/` });
    await attachCatalog(db, catalog, given);
    dataPath = given ?? { url: (await catalogDataPath(db)) ?? `${resolve(paths.lake)}/` };
    await createLakeTables(db, "orders");
    await createOffsetsSchema(db);
    // A lake of the previous release (files of ferry's own under the data path): adopted once.
    await adoptLegacyLake(db, { dataDir: opts.dataDir, dataPath, kind: "orders", writer, legacyDb: db }, log);
  } catch (e) {
    db.close();
    throw e;
  }
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

  /** The catalog's offset of the run's partition as this data dir left it (undefined: nothing rolled into this catalog yet). */
  let held: number | undefined;
  const fault = opts.fault ?? (() => {});
  let rollups = 0;

  /**
   * Where the catalog's offset is: journal rows below it are in the lake already (a rollup whose
   * catalog commit happened and its journal drop not: a kill between them, or a COMMIT whose answer
   * was lost), and are dropped. An offset another writer moved is not this data dir's: FencedError,
   * nothing dropped.
   */
  async function syncWithCatalog(): Promise<void> {
    const there = await readOffset(db, RUN_TOPIC, PARTITION);
    if (there === undefined) {
      if (held !== undefined) throw new FencedError(RUN_TOPIC, PARTITION, `the catalog ${catalog.description} no longer holds ferry run's offset of ${RUN_TOPIC}/${PARTITION} (it was ${held}): was the catalog replaced?`);
      return;
    }
    if (there.writer !== writer) {
      throw new FencedError(
        RUN_TOPIC,
        PARTITION,
        `the catalog ${catalog.description} holds ferry run's orders (${RUN_TOPIC}/${PARTITION}) rolled up from another data dir (${there.writer}; this one is ${writer}): one ferry run per catalog (give this one a --catalog of its own)`,
      );
    }
    if (held !== undefined && there.next < held) throw new FencedError(RUN_TOPIC, PARTITION, `the catalog's offset of ${RUN_TOPIC}/${PARTITION} went back from ${held} to ${there.next}: was the catalog restored from an older copy?`);
    const r = await db.query(`DELETE FROM ferry_journal WHERE kafka_offset < ${there.next}`);
    const dropped = Number(r.rows[0]?.[0] ?? 0);
    if (dropped > 0) log.notice("dropped journal rows the catalog's lake holds already (a rollup stopped between its catalog commit and its journal drop)", { rows: dropped, below: there.next });
    held = there.next;
    if (there.next > nextSeq) {
      // This data dir's database is behind the catalog (restored from an older copy?): sequences go on after what the lake holds.
      log.warn("the catalog's lake holds sequences past this data dir's database; new orders continue after them", { catalog: there.next, database: nextSeq });
      nextSeq = there.next;
    }
  }

  /**
   * The journal's rows of [first, last] into the catalog's lake with the offset past them, as one
   * catalog transaction (its own snapshot); then they leave the journal.
   */
  async function rollRange(first: number, last: number): Promise<number> {
    const n = ++rollups;
    fault("rollup-start", n);
    const rows = await db.transaction(async () => {
      await moveOffsets(db, [{ topic: RUN_TOPIC, partition: PARTITION, from: held, to: last + 1 }], writer);
      const r = await db.query(`INSERT INTO ${LAKE_TABLE} BY NAME SELECT *, ${lakeDateSql("orders")} AS date FROM ferry_journal WHERE kafka_offset BETWEEN ${first} AND ${last} ORDER BY kafka_offset`);
      fault("in-lake-commit", n);
      return Number(r.rows[0]?.[0] ?? 0);
    });
    held = last + 1;
    fault("lake-committed", n);
    await db.exec(`DELETE FROM ferry_journal WHERE kafka_offset <= ${last}`);
    fault("journal-dropped", n);
    return rows;
  }

  try {
    await syncWithCatalog();
  } catch (e) {
    await wal.close();
    db.close();
    throw e instanceof FencedError ? new ConfigError(e.message, { cause: e }) : e;
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
  let rollupFailed = false;
  const rollup = () =>
    exclusive(async () => {
      sinceRollup = 0;
      await applyPending();
      // After a failed rollup: its COMMIT may have happened (an answer lost with the catalog's server).
      if (rollupFailed) await syncWithCatalog();
      rollupFailed = true;
      const r = await db.query(`SELECT min(kafka_offset), max(kafka_offset) FROM ferry_journal`);
      if (r.rows[0]![0] === null) {
        rollupFailed = false;
        return 0;
      }
      const t0 = performance.now();
      const rows = await rollRange(Number(r.rows[0]![0]), Number(r.rows[0]![1]));
      rollupFailed = false;
      log.info("rolled journal into the catalog's lake", { rows, next: held, ms: Math.round(performance.now() - t0) });
      return rows;
    });
  /** The last rollup failure's message: a failure logged once while it lasts (a rollup is tried every interval). */
  let rollupError: string | undefined;
  /**
   * Maintenance after a rollup, when due: on the catalog's connection (nothing else runs on it
   * meanwhile; orders are still acknowledged, and applied after it). The catalog's record of runs
   * makes a run skip when one ran less than `everyMs` ago (also before a restart).
   */
  let maintenanceDue = 0;
  const maintainIfDue = async () => {
    const m = opts.maintenance;
    if (!m || Date.now() < maintenanceDue) return;
    maintenanceDue = Date.now() + m.everyMs;
    await exclusive(() => maintain(db, m.policy, { member: writer, everyMs: m.everyMs, dataPath }, log)).catch((e: unknown) => log.error("lake maintenance failed; tried again at its next time", { error: e }));
  };
  const rollInBackground = () => {
    const t0 = performance.now();
    rolling ??= rollup()
      .then((rows) => {
        if (rows > 0) opts.onRollup?.({ rows, ms: Math.round(performance.now() - t0) });
        return rows;
      })
      .then(async (rows) => {
        await maintainIfDue();
        return rows;
      })
      .then(
        (rows) => {
          if (rollupError !== undefined) log.notice("lake rollups work again", { rows });
          rollupError = undefined;
          return rows;
        },
        (e: unknown) => {
          const message = errorMessage(e);
          opts.onRollup?.({ rows: 0, ms: Math.round(performance.now() - t0), error: e });
          if (message !== rollupError) log.error("lake rollup failed; rows stay in the journal and are retried every interval", { error: e });
          else log.debug("lake rollup failed again", { error: message });
          rollupError = message;
          return 0;
        },
      )
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
    waiting: () => coalescer.waiting,
    journalRows: () => Math.max(0, nextSeq - (held ?? 0)),
    // Read your writes: what was acknowledged is applied first; the query then runs on its own connection, outside `exclusive`.
    query: queryService(db, {
      lockdown: { dirs: [opts.dataDir, dataPath.url], s3: dataPath.s3 },
      before: () => exclusive(applyPending),
      offer: (conn) => offerLakeViews(conn),
      offerAt: (conn, at) => offerLakeViews(conn, at),
    }),
    rollup,
    async close() {
      clearInterval(timer);
      clearTimeout(applyTimer);
      await coalescer.drain();
      // A rollup that fails (the catalog unreachable, another writer's) leaves its rows in the
      // journal for the next start; the files are closed all the same, and the failure told.
      let failed: unknown;
      await rollup().catch((e: unknown) => (failed = e));
      await exclusive(async () => {
        // The log is emptied only once everything acknowledged is in the database.
        if (unapplied.length === 0) await wal.clear();
        await wal.close();
        await rm(applyFile, { force: true });
        db.close();
      });
      if (failed !== undefined) throw failed;
    },
  };
}

/** What ferry_run records of the catalog when it is the data dir's default (so a data dir moved elsewhere keeps it). */
const DEFAULT_CATALOG = "default";

/**
 * The catalog this data dir's run rolls into: the one given, checked against the one recorded at
 * the first start (its journal and offsets belong to that catalog: another would split the lake),
 * or, when none is given (`ferry generate` into the data dir), the recorded one.
 */
async function runCatalog(db: Db, opts: EmbeddedOrderSinkOptions): Promise<Catalog> {
  await db.exec(`ALTER TABLE ferry_run ADD COLUMN IF NOT EXISTS catalog VARCHAR`);
  const recorded = (await db.query(`SELECT catalog FROM ferry_run`)).rows[0]?.[0];
  const byDefault = catalogOf({ dataDir: opts.dataDir });
  const named = (c: Catalog) => (c.kind === byDefault.kind && c.description === byDefault.description ? DEFAULT_CATALOG : c.description);
  if (typeof recorded !== "string") {
    const catalog = opts.catalog ?? byDefault;
    await db.exec(`UPDATE ferry_run SET catalog = $1`, [named(catalog)]);
    return catalog;
  }
  if (opts.catalog === undefined) return recorded === DEFAULT_CATALOG ? byDefault : catalogOf({ dataDir: opts.dataDir, catalog: recorded });
  if (named(opts.catalog) !== recorded) {
    const was = recorded === DEFAULT_CATALOG ? `the data dir's own (${byDefault.description})` : recorded;
    throw new ConfigError(`this data dir's ferry run rolls its orders into the catalog ${was}, not ${opts.catalog.description}: its journal and offsets belong to that one (another would split the lake); give --catalog ${recorded === DEFAULT_CATALOG ? "(none)" : recorded}, or use a data dir of its own for another catalog`);
  }
  return opts.catalog;
}

/** This data dir's writer id (random, made once, kept in ferry.duckdb): it names the run's offset moves in the catalog. */
async function runWriterId(db: Db): Promise<string> {
  await db.exec(`CREATE TABLE IF NOT EXISTS ferry_run (writer VARCHAR NOT NULL)`);
  const had = (await db.query(`SELECT writer FROM ferry_run`)).rows[0]?.[0];
  if (typeof had === "string") return had;
  const id = `ferry run ${crypto.randomUUID()}`;
  await db.exec(`INSERT INTO ferry_run VALUES ($1)`, [id]);
  return id;
}
