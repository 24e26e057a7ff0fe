/**
 * Upgrades lose and repeat nothing: at its first start on a catalog, ferry adopts what the previous
 * release (the file-based lake) left in the data path and the data dir — once, in one catalog
 * transaction: the rows of every committed legacy file into the lake table, each partition's
 * offset where the legacy lake says it continues, and a row in `ferry_offsets.adopted` that says
 * it was done. A kill at any point leaves either all of it or nothing (the next start does it
 * again); a second start, or another member of the group, finds the row and does nothing.
 *
 * Rows are copied (INSERT … SELECT from the files), not registered in place with
 * ducklake_add_data_files: DuckLake fills a column a file lacks only from a hive folder of the
 * table's own partition keys (`key=value`), and the legacy layout names the topic by a plain folder
 * (`<topic>/date=…`), so kafka_topic would read as NULL. Registering them would mean moving every
 * file into `kafka_topic=<topic>/date=…/` folders first (a copy per object on S3, and not atomic
 * with the catalog) and re-partitioning the table for the time of the transaction; and the
 * previous release wrote one file per batch, partition and date (tens of thousands a day), which
 * adding costs ~2.3 ms each and leaves in the catalog as small files. Measured, same machine and
 * window (the add figures without the moves): 1M orders in 300 files, copy 0.9–1.1 s, add
 * 0.7 s (loaded machine: 1.8–2.2 s vs 0.8 s); 200k orders in 3,000 files, copy 1.4–2.0 s, add
 * 6.8–7.2 s (loaded: 1.9–3.9 s vs 10.6–13.3 s), and `orders` over the added files 6–9× slower to
 * query. Copying costs more only for few large files, is one transaction, and leaves a few files
 * per date; 5M orders in 1,500 files copy in ~6 s (loaded machine).
 *
 * The legacy files stay where they are (nothing is deleted): nothing of ferry reads them any more,
 * ferry's maintenance leaves files it did not name alone, and the log says which to remove once
 * satisfied (`<topic>/date=…/part-….parquet`, `_ferry/`). Until then a reader of raw Parquet
 * files that globs the whole data path sees their rows twice (it must read `main/lake/`, or the
 * catalog). DuckLake's own ducklake_delete_orphaned_files (or a CHECKPOINT of the catalog) would
 * delete them: never before the adoption.
 */
import { dataPaths, type Db, sqlString } from "../db/duckdb.ts";
import { errorMessage, FerryError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { RecordKind } from "../schema/kinds.ts";
import { quoteIdent } from "../schema/ddl.ts";
import { rowLayout } from "../sinks/record-rows.ts";
import { type DataPath, LAKE_DB } from "./catalog.ts";
import { backOff, metAnotherWriter } from "./contention.ts";
import { type AdoptedFile, type AdoptionPlan, listLegacyLake, planAdoption, readLegacyDataDir, sameLake } from "./legacy-lake.ts";
import { createOffsetsSchema, moveOffsets, OFFSETS_SCHEMA, readOffsets } from "./offsets.ts";
import { hasTable, lakeDateSql, lakeTableOf } from "./tables.ts";

/** Points of an adoption where a test can make it die. */
export const ADOPT_FAULT_POINTS = ["listed", "inserted", "before-commit"] as const;
export type AdoptFaultPoint = (typeof ADOPT_FAULT_POINTS)[number];

export interface AdoptOptions {
  /** The data dir (its ferry.duckdb is the previous release's, if there). */
  dataDir: string;
  /** The catalog's data path: where the previous release's lake is (the same --lake). */
  dataPath: DataPath;
  kind: RecordKind;
  /** Names this writer in the offsets and the adoption's row. */
  writer: string;
  /** A connection to <data-dir>/ferry.duckdb the caller holds open (ferry run); otherwise attached read-only while it is read. */
  legacyDb?: Db;
  /** Files read per INSERT (bounds the statement; default 2000). */
  chunkFiles?: number;
  /** Called at each fault point (tests). */
  fault?: (point: AdoptFaultPoint) => void;
}

export interface AdoptionResult {
  /** "adopted": this call did it; "already": done before (now or by another writer meanwhile). */
  outcome: "adopted" | "already";
  files: number;
  rows: number;
  /** Legacy files not adopted (a batch or rollup cut short). */
  left: number;
  offsets: { topic: string; partition: number; next: number }[];
}

/** The previous release's lake cannot be adopted as it is (the message says why and what to do). */
export class AdoptionError extends FerryError {}

const ADOPTED = `${LAKE_DB}.${OFFSETS_SCHEMA}.adopted`;

/** Whether the catalog has adopted (or found nothing to adopt of) the previous release's lake. */
export async function legacyLakeAdopted(db: Db): Promise<boolean> {
  if (!(await hasTable(db, OFFSETS_SCHEMA, "adopted"))) return false;
  return Number((await db.query(`SELECT count(*) FROM ${ADOPTED}`)).rows[0]![0]) > 0;
}

/**
 * Adopts the previous release's lake and offsets into the catalog attached to `db` as LAKE_DB
 * (its tables created), once. Call it at open, before the first batch and before any cleanup of
 * orphaned files, with no transaction open on `db`.
 */
export async function adoptLegacyLake(db: Db, opts: AdoptOptions, log: Logger): Promise<AdoptionResult> {
  const already: AdoptionResult = { outcome: "already", files: 0, rows: 0, left: 0, offsets: [] };
  for (let attempt = 1; ; attempt++) {
    if (await legacyLakeAdopted(db)) {
      if (attempt > 1) log.notice("the previous release's lake was adopted by another writer meanwhile");
      return already;
    }
    try {
      return await adoptOnce(db, opts, log);
    } catch (e) {
      // Another writer adopting at the same time (a conflict at COMMIT), or a SQLite catalog busy with it: nothing was written; look again.
      if (!(metAnotherWriter(e) || /already exists/i.test(errorMessage(e))) || attempt >= ATTEMPTS) throw e;
      log.info("the adoption met another writer's transaction; trying again", { attempt, error: errorMessage(e) });
      await backOff(attempt, 50);
    }
  }
}

/** Adoptions that meet another writer's transaction are tried again this often. */
const ATTEMPTS = 8;

async function adoptOnce(db: Db, opts: AdoptOptions, log: Logger): Promise<AdoptionResult> {
  await createOffsetsSchema(db);
  const listed = await listLegacyLake(opts.dataPath);
  const dataDir = await readLegacyDataDir(db, dataPaths(opts.dataDir).database, opts.legacyDb);
  const useDataDirOffsets = sameLake(dataDir?.lakeLocation, opts.dataPath);
  if (!useDataDirOffsets) {
    log.warn("the data dir's offsets are of another lake than this one: only the lake's commit markers say what is committed", { recorded: dataDir?.lakeLocation, lake: opts.dataPath.url });
  }
  const plan = planAdoption({ ...listed, dataDir }, { useDataDirOffsets });
  opts.fault?.("listed");
  const known = await readOffsets(db);
  const clash = plan.offsets.filter((o) => known.has(`${o.topic}/${o.partition}`));
  if (clash.length > 0) {
    throw new AdoptionError(
      `the catalog already holds offsets for ${clash.map((o) => `${o.topic}/${o.partition}`).join(", ")}, which the previous release's lake at ${opts.dataPath.url} also has: it was written without adopting that lake first; ` +
        `adopting it now could repeat or lose records. Use a new catalog (--catalog) to adopt the lake, or move the previous release's files (<topic>/date=…/part-….parquet, _ferry/) out of the lake to start without them`,
    );
  }
  if (plan.adopt.length + plan.left.length + plan.offsets.length > 0) {
    log.notice("adopting the previous release's lake into the catalog", { lake: opts.dataPath.url, files: plan.adopt.length, partitions: plan.offsets.length, dataDir: dataDir?.mode });
  }
  let rows = 0;
  await db.transaction(async () => {
    await db.exec(`CREATE TABLE ${ADOPTED} (adopted_at TIMESTAMPTZ NOT NULL, writer VARCHAR NOT NULL, lake VARCHAR NOT NULL, data_dir VARCHAR NOT NULL, files BIGINT NOT NULL, "rows" BIGINT NOT NULL, left_files BIGINT NOT NULL, offsets VARCHAR NOT NULL)`);
    let first = true;
    for (const sql of insertStatements(plan.adopt, opts.kind, opts.chunkFiles ?? 2000)) {
      const r = await db.query(sql).catch((e) => {
        throw new AdoptionError(
          `cannot adopt the previous release's lake at ${opts.dataPath.url} (nothing was adopted): ${errorMessage(e)}. ` +
            `A committed file that cannot be read stops the adoption: restore it, or move it out of the lake to go on without its records (they are read again from Kafka only if the topic still holds them)`,
          { cause: e },
        );
      });
      rows += Number(r.rows[0]?.[0] ?? 0);
      if (first) opts.fault?.("inserted");
      first = false;
    }
    await moveOffsets(
      db,
      plan.offsets.map((o) => ({ topic: o.topic, partition: o.partition, from: undefined, to: o.next })),
      opts.writer,
    );
    const offsets = JSON.stringify(Object.fromEntries(plan.offsets.map((o) => [`${o.topic}/${o.partition}`, o.next])));
    await db.exec(`INSERT INTO ${ADOPTED} VALUES (now(), $1, $2, $3, $4, $5, $6, $7)`, [opts.writer, opts.dataPath.url, opts.dataDir, plan.adopt.length, rows, plan.left.length, offsets]);
    await db.exec(`CALL ${LAKE_DB}.set_commit_message($1, $2, extra_info => $3)`, [opts.writer, `adopted the previous release's lake: ${plan.adopt.length} files, ${rows} rows`, offsets]);
    opts.fault?.("before-commit");
  });
  logLeft(plan, log);
  for (const o of plan.overlaps) {
    log.warn("committed ranges of the previous release's lake overlap (a writer that lost its partition committed late, or a batch redone with other boundaries): each of their offsets adopted once", { partition: `${o.topic}/${o.partition}`, ranges: o.ranges });
  }
  if (plan.adopt.length + plan.offsets.length > 0) {
    log.notice("adopted the previous release's lake: its rows are in the catalog's lake table now; its own files stay where they are, read by nothing (remove <topic>/date=…/part-….parquet and _ferry/ when satisfied)", {
      files: plan.adopt.length,
      rows,
      partitions: plan.offsets.length,
      left: plan.left.length,
    });
  }
  return { outcome: "adopted", files: plan.adopt.length, rows, left: plan.left.length, offsets: plan.offsets };
}

/**
 * One INSERT per chunk of files of one topic, in date order (DuckLake writes a file per date per
 * statement); the files of an overlap group in one INSERT that keeps each offset once (its first
 * received row: the rows at one offset are the same record).
 */
function* insertStatements(files: AdoptedFile[], kind: RecordKind, chunkFiles: number): Generator<string> {
  const layout = rowLayout(kind);
  const table = `${LAKE_DB}.main.${quoteIdent(lakeTableOf(kind))}`;
  const insert = (topic: string, chunk: AdoptedFile[], once: boolean) =>
    `INSERT INTO ${table} BY NAME SELECT ${layout.lakeColumns}, ${sqlString(topic)} AS kafka_topic, ${lakeDateSql(kind)} AS date ` +
    `FROM read_parquet([${chunk.map((f) => sqlString(f.path)).join(", ")}], hive_partitioning = false, union_by_name = true)` +
    (once ? " QUALIFY row_number() OVER (PARTITION BY kafka_partition, kafka_offset ORDER BY ingested_at, kafka_offset) = 1" : "");
  const byDate = (a: AdoptedFile, b: AdoptedFile) => a.date.localeCompare(b.date) || a.partition - b.partition || a.firstOffset - b.firstOffset;
  for (const [topic, ofTopic] of Map.groupBy(files, (f) => f.topic)) {
    const plain = ofTopic.filter((f) => f.overlapGroup === undefined).sort(byDate);
    for (let i = 0; i < plain.length; i += chunkFiles) yield insert(topic, plain.slice(i, i + chunkFiles), false);
    const groups = Map.groupBy(
      ofTopic.filter((f) => f.overlapGroup !== undefined),
      (f) => f.overlapGroup!,
    );
    for (const group of groups.values()) yield insert(topic, group.sort(byDate), true);
  }
}

/** One line per partition whose files were not adopted (at most 20 paths each). */
function logLeft(plan: AdoptionPlan, log: Logger): void {
  const byPartition = Map.groupBy(plan.left, (f) => `${f.topic}/${f.partition}`);
  for (const [partition, files] of byPartition) {
    log.notice("files of the previous release's lake not adopted: their records are read again", {
      partition,
      count: files.length,
      why: [...new Set(files.map((f) => f.why))].join("; "),
      files: files.slice(0, 20).map((f) => f.path),
    });
  }
}
