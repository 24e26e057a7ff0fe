/**
 * Lake maintenance: few files, bounded history. One run, on a connection with the catalog attached
 * (LAKE_DB), for every table of the catalog's `main` schema (the lake tables; the offsets tables
 * stay as they are: a few inlined rows each):
 *  1. flush: a table's inlined rows (small batches are kept in the catalog, tables.ts INLINE_ROWS)
 *     go into Parquet files once there are `flushRows` of them or the oldest would be `flushAgeMs`
 *     old by the next scheduled run (a reader of raw Parquet files sees them only then, so within
 *     about `flushAgeMs`) — one file per partition (date);
 *  2. merge: small files of a partition are merged, in tiers of size (below 1 MiB, 8 MiB, 64 MiB …
 *     up to `targetFileBytes`): a tier is merged once one partition holds MERGE_AT files of it,
 *     so a byte is rewritten about once per tier, not at every run. Time travel still reaches
 *     the merged rows' snapshots (DuckLake keeps each row's snapshot in the merged file);
 *  3. expire: snapshots older than `snapshotRetentionMs` (time travel reaches back that far);
 *  4. clean up: files no snapshot references any more (merged away, expired), once they were let
 *     go `fileGraceMs` ago — a reader still at an older snapshot keeps its files meanwhile;
 *  5. orphans: Parquet files DuckLake wrote that no catalog transaction ever committed (a writer
 *     killed in a batch), once older than `fileGraceMs` — a running writer's files in flight are
 *     younger. Only files named as DuckLake names them (ducklake-<uuid>.parquet) are deleted: other
 *     files under the data path (a previous release's lake, not yet adopted) are left alone.
 * One member at a time: a run claims the catalog's `ferry_maintenance.last_run` row first (two
 * claims at once conflict in DuckLake; the loser skips: "another member maintained the lake").
 * A step that fails is logged and the run goes on; a run never throws for a step's failure.
 * On a SQLite catalog a commit that overlaps another writer's fails with "database is locked":
 * such a step is tried again (and a sink's batch that meets one of ours retries too).
 */
import { unlinkSync } from "node:fs";
import { dirname } from "node:path";
import * as v from "valibot";
import { duration } from "../config/fields.ts";
import type { Db } from "../db/duckdb.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { openObjectStore } from "../platform/s3.ts";
import { quoteIdent } from "../schema/ddl.ts";
import { type DataPath, LAKE_DB } from "./catalog.ts";
import { backOff, metAnotherWriter } from "./contention.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MiB = 1 << 20;

export interface MaintenancePolicy {
  /** Snapshots older than this are expired: time travel reaches back this far. */
  snapshotRetentionMs: number;
  /** Unreferenced files (merged away, expired) and orphans are deleted once this old. */
  fileGraceMs: number;
  /** A table's inlined rows are flushed into files once there are this many… */
  flushRows: number;
  /** …or once the oldest of them is this old (on a schedule: would be, by the next run). */
  flushAgeMs: number;
  /** Merged files grow to about this size (DuckLake's target_file_size). */
  targetFileBytes: number;
}

export const DEFAULT_MAINTENANCE: MaintenancePolicy = {
  snapshotRetentionMs: 7 * DAY,
  fileGraceMs: HOUR,
  flushRows: 100_000,
  flushAgeMs: HOUR,
  targetFileBytes: 512 * MiB,
};

/** The tiers of merging: files below 1 MiB, 8 MiB, 64 MiB … merged into the next. */
const TIER_BASE = MiB;
const TIER_RATIO = 8;
/** A tier is merged once one partition holds this many of its files. */
export const MERGE_AT = 4;

/** How often a writer (ferry sink, ferry run) maintains the lake, one member at a time. */
export const maintainEveryField = {
  maintainEvery: v.optional(
    duration({ doc: "How often the lake is maintained (inlined rows and small files merged, old snapshots expired, unreferenced files deleted; see ferry maintain), one member at a time; 0: never.", min: 0 }),
    HOUR,
  ),
};

/** Settings of `ferry maintain` (and of the sink's scheduled runs). */
export const maintenanceFields = {
  snapshotRetention: v.optional(
    duration({ doc: "Snapshots older than this are expired at maintenance: time travel reaches back this far (168h = 7 days).", min: 0 }),
    DEFAULT_MAINTENANCE.snapshotRetentionMs,
  ),
  fileGrace: v.optional(
    duration({
      doc: "Files no snapshot references any more (merged away, expired), and files of batches that never committed, are deleted once this old: a reader at an older snapshot, or a writer in a batch, keeps its files meanwhile.",
      min: MINUTE,
    }),
    DEFAULT_MAINTENANCE.fileGraceMs,
  ),
};

export const maintenancePolicyOf = (c: { snapshotRetention: number; fileGrace: number }): MaintenancePolicy => ({
  ...DEFAULT_MAINTENANCE,
  snapshotRetentionMs: c.snapshotRetention,
  fileGraceMs: c.fileGrace,
});

export interface MaintainOptions {
  /** Names this member in the catalog's record of runs. */
  member: string;
  /**
   * The schedule: skip when any member started a run less than (about) this long ago. Unset:
   * run now (`ferry maintain`), unless another member is running one.
   */
  everyMs?: number;
  /** The data path as configured: its S3 settings reach orphans on S3. */
  dataPath?: DataPath;
}

export interface FileCount {
  files: number;
  bytes: number;
  /** Rows kept in the catalog (inlined), not in files yet. */
  inlinedRows: number;
}

export interface MaintenanceReport {
  ran: boolean;
  /** Why it did not run: another member maintained the lake, or is maintaining it. */
  skipped?: string;
  before: FileCount;
  after: FileCount;
  flushedRows: number;
  /** Files merged, and the files they became. */
  merged: { files: number; into: number };
  snapshotsExpired: number;
  /** Files no snapshot references any more, deleted. */
  filesDeleted: number;
  /** Files of transactions that never committed, deleted. */
  orphansDeleted: number;
  /** Parquet files under the data path that are neither the catalog's nor DuckLake's: left alone. */
  foreignFiles: number;
  /** Steps that failed (the run went on). */
  failed: { step: string; error: string }[];
  ms: number;
}

/** A data file of a table: its path, size, and partition (its hive folder, e.g. "date=2026-03-01"). */
export interface LakeFile {
  table: string;
  path: string;
  bytes: number;
  partition: string;
}

const META = quoteIdent(`__ducklake_metadata_${LAKE_DB}`);
const CLAIM_SCHEMA = "ferry_maintenance";
const CLAIM = `${LAKE_DB}.${CLAIM_SCHEMA}.last_run`;
/** A run not finished after this long is taken for dead (its member killed): another may run. */
const CLAIM_STALE_MS = HOUR;
/** A run the schedule asks for shortly before `everyMs` has passed still runs (timers drift). */
const SCHEDULE_SLACK = 0.9;
const DUCKLAKE_FILE = /(^|\/)ducklake-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-delete)?\.parquet$/;

/**
 * One maintenance run; see the file's comment. Logs one line (notice) when it ran (warn when a
 * step failed), info when it skipped. Throws only when the catalog cannot be read at all.
 */
export async function maintain(db: Db, policy: MaintenancePolicy, opts: MaintainOptions, log: Logger): Promise<MaintenanceReport> {
  const t0 = performance.now();
  const none: FileCount = { files: 0, bytes: 0, inlinedRows: 0 };
  const report: MaintenanceReport = { ran: false, before: none, after: none, flushedRows: 0, merged: { files: 0, into: 0 }, snapshotsExpired: 0, filesDeleted: 0, orphansDeleted: 0, foreignFiles: 0, failed: [], ms: 0 };
  const claim = await claimRun(db, opts);
  if (!claim.ok) {
    report.skipped = claim.why;
    report.ms = Math.round(performance.now() - t0);
    log.info("lake maintenance skipped", { reason: claim.why });
    return report;
  }
  report.ran = true;
  const step = async (name: string, fn: () => Promise<void>) => {
    try {
      await retryingLocked(fn);
    } catch (e) {
      const error = errorMessage(e);
      report.failed.push({ step: name, error: /conflict/i.test(error) ? `another member maintained the lake (${error})` : error });
    }
  };
  let tables: string[] = [];
  await step("count", async () => {
    tables = await lakeTables(db);
    report.before = count(await lakeFiles(db, tables), await inlined(db, tables));
  });
  await step("flush", async () => {
    for (const [table, rows] of await inlined(db, tables)) {
      // Old enough: by the next scheduled run the oldest would be older than flushAgeMs.
      const old = (rows.oldestMs ?? 0) + (opts.everyMs ?? 0) >= policy.flushAgeMs;
      if (rows.rows === 0 || (rows.rows < policy.flushRows && !old)) continue;
      const r = await db.query(`SELECT sum(rows_flushed)::BIGINT FROM ducklake_flush_inlined_data(${lit(LAKE_DB)}, schema_name => 'main', table_name => ${lit(table)})`);
      report.flushedRows += Number(r.rows[0]?.[0] ?? 0);
    }
  });
  await step("merge", async () => {
    for (const table of tables) {
      const m = await mergeTiers(db, table, policy.targetFileBytes);
      report.merged.files += m.files;
      report.merged.into += m.into;
    }
  });
  const ago = (ms: number) => `now() - to_milliseconds(${Math.max(0, Math.floor(ms))})`;
  // Catalogs keeping times as text (SQLite): DuckLake compares them as strings with its cut-off,
  // so every time of the cut-off's day looks older (checked: a file merged a second ago went with
  // older_than => now() - 1 hour). Such a catalog gets a cut-off at the end of an earlier day
  // (14 hours for the widest UTC offset a writer's text may carry): nothing goes too early, some
  // things up to a day and a half late.
  let textTimes: boolean | undefined;
  await step("catalog", async () => {
    const t = await db.query(`SELECT typeof(snapshot_time) FROM ${META}.ducklake_snapshot LIMIT 1`);
    textTimes = String(t.rows[0]?.[0]) === "VARCHAR";
  });
  const catalogAgo = (ms: number) => {
    // Not known how the catalog keeps its times (the step failed): nothing expires, nothing is deleted.
    if (textTimes === undefined) throw new Error("skipped: how the catalog keeps its times is not known");
    return textTimes ? `timezone('UTC', date_trunc('day', timezone('UTC', ${ago(ms)} - INTERVAL 14 HOUR)) - INTERVAL 1 MICROSECOND)` : ago(ms);
  };
  await step("expire", async () => {
    const r = await db.query(`SELECT count(*)::BIGINT FROM ducklake_expire_snapshots(${lit(LAKE_DB)}, older_than => ${catalogAgo(policy.snapshotRetentionMs)})`);
    report.snapshotsExpired += Number(r.rows[0]![0]);
  });
  await step("cleanup", async () => {
    const r = await db.query(`SELECT count(*)::BIGINT FROM ducklake_cleanup_old_files(${lit(LAKE_DB)}, older_than => ${catalogAgo(policy.fileGraceMs)})`);
    report.filesDeleted += Number(r.rows[0]![0]);
  });
  await step("orphans", async () => {
    const r = await db.query(`SELECT path FROM ducklake_delete_orphaned_files(${lit(LAKE_DB)}, dry_run => true, older_than => ${ago(policy.fileGraceMs)})`);
    const paths = r.rows.map((row) => String(row[0]));
    const ours = paths.filter((p) => DUCKLAKE_FILE.test(p));
    report.foreignFiles = paths.length - ours.length;
    report.orphansDeleted += await deleteFiles(ours, opts.dataPath);
  });
  await step("count", async () => {
    report.after = count(await lakeFiles(db, tables), await inlined(db, tables));
  });
  await finishRun(db, opts.member, claim.started).catch(() => {});
  report.ms = Math.round(performance.now() - t0);
  const fields = {
    files: `${report.before.files} → ${report.after.files}`,
    inlinedRows: `${report.before.inlinedRows} → ${report.after.inlinedRows}`,
    flushedRows: report.flushedRows,
    merged: `${report.merged.files} → ${report.merged.into}`,
    snapshotsExpired: report.snapshotsExpired,
    filesDeleted: report.filesDeleted,
    orphansDeleted: report.orphansDeleted,
    ...(report.foreignFiles ? { foreignFilesLeft: report.foreignFiles } : {}),
    ms: report.ms,
  };
  if (report.failed.length) log.warn("lake maintained, some steps failed (tried again at the next run)", { ...fields, failed: report.failed });
  else log.notice("lake maintained", fields);
  return report;
}

/** The tables of the catalog's `main` schema (the lake tables). */
export async function lakeTables(db: Db): Promise<string[]> {
  const r = await db.query(`SELECT table_name FROM duckdb_tables() WHERE database_name = $1 AND schema_name = 'main' ORDER BY 1`, [LAKE_DB]);
  return r.rows.map((row) => String(row[0]));
}

/** The current snapshot's data files of the tables. */
export async function lakeFiles(db: Db, tables: readonly string[]): Promise<LakeFile[]> {
  const out: LakeFile[] = [];
  for (const table of tables) {
    const r = await db.query(`SELECT data_file, data_file_size_bytes::BIGINT FROM ducklake_list_files(${lit(LAKE_DB)}, ${lit(table)}, schema => 'main')`);
    for (const [path, bytes] of r.rows) out.push({ table, path: String(path), bytes: Number(bytes), partition: partitionOf(String(path)) });
  }
  return out;
}

/** The hive folders of a file's path ("date=2026-03-01"), "" for an unpartitioned file. */
const partitionOf = (path: string) =>
  dirname(path)
    .split("/")
    .filter((s) => /^[^=]+=/.test(s))
    .join("/");

/** Per table, its inlined rows (not in files yet) and how old the oldest is (ms). */
export async function inlined(db: Db, tables: readonly string[]): Promise<Map<string, { rows: number; oldestMs?: number }>> {
  const out = new Map<string, { rows: number; oldestMs?: number }>();
  const ids = await db.query(`SELECT table_name, table_id FROM ducklake_table_info(${lit(LAKE_DB)}) WHERE schema_id = (SELECT schema_id FROM ${META}.ducklake_schema WHERE schema_name = 'main' AND end_snapshot IS NULL)`);
  const idOf = new Map(ids.rows.map(([name, id]) => [String(name), Number(id)]));
  const inlinedTables = await db.query(`SELECT table_id, table_name FROM ${META}.ducklake_inlined_data_tables`);
  for (const table of tables) {
    const id = idOf.get(table);
    let rows = 0;
    let oldest: number | undefined;
    for (const [tid, name] of inlinedTables.rows) {
      if (Number(tid) !== id) continue;
      const r = await db.query(`SELECT count(*)::BIGINT, min(begin_snapshot)::BIGINT FROM ${META}.${quoteIdent(String(name))} WHERE end_snapshot IS NULL`).catch((e) => {
        // Dropped meanwhile (a flush drops an inlined table it emptied): nothing inlined there.
        if (/does not exist/i.test(errorMessage(e))) return { rows: [[0, null]] };
        throw e;
      });
      rows += Number(r.rows[0]![0]);
      const first = r.rows[0]![1];
      if (first !== null && (oldest === undefined || Number(first) < oldest)) oldest = Number(first);
    }
    let oldestMs: number | undefined;
    if (oldest !== undefined) {
      const t = await db.query(`SELECT epoch_ms(now()) - epoch_ms(snapshot_time) FROM ducklake_snapshots(${lit(LAKE_DB)}) WHERE snapshot_id = $1`, [oldest]);
      // An expired snapshot: the rows are at least as old as the retention.
      oldestMs = t.rows.length ? Number(t.rows[0]![0]) : Number.MAX_SAFE_INTEGER;
    }
    out.set(table, { rows, oldestMs });
  }
  return out;
}

function count(files: readonly LakeFile[], rows: Map<string, { rows: number }>): FileCount {
  let inlinedRows = 0;
  for (const r of rows.values()) inlinedRows += r.rows;
  return { files: files.length, bytes: files.reduce((s, f) => s + f.bytes, 0), inlinedRows };
}

/**
 * Merges a table's small files tier by tier (smallest first): a tier [lo, hi) is merged when one
 * partition holds MERGE_AT of its files; merged files grow to about `hi` (the next tier).
 */
async function mergeTiers(db: Db, table: string, target: number): Promise<{ files: number; into: number }> {
  const done = { files: 0, into: 0 };
  const was = (await db.query(`SELECT current_setting('ducklake_target_file_size')`)).rows[0]![0];
  try {
    for (let lo = 0, hi = Math.min(TIER_BASE, target); lo < target; lo = hi, hi = Math.min(hi * TIER_RATIO, target)) {
      const perPartition = new Map<string, number>();
      for (const f of await lakeFiles(db, [table])) if (f.bytes >= lo && f.bytes < hi) perPartition.set(f.partition, (perPartition.get(f.partition) ?? 0) + 1);
      if (![...perPartition.values()].some((n) => n >= MERGE_AT)) continue;
      await db.exec(`SET ducklake_target_file_size = '${Math.ceil(hi / 1024)}KiB'`);
      const range = `${lo > 0 ? `min_file_size => ${lo}, ` : ""}max_file_size => ${hi}`;
      const r = await db.query(`SELECT coalesce(sum(files_processed), 0)::BIGINT, coalesce(sum(files_created), 0)::BIGINT FROM ducklake_merge_adjacent_files(${lit(LAKE_DB)}, ${lit(table)}, schema => 'main', ${range})`);
      done.files += Number(r.rows[0]![0]);
      done.into += Number(r.rows[0]![1]);
    }
  } finally {
    await db.exec(was === null || was === "" ? "RESET ducklake_target_file_size" : `SET ducklake_target_file_size = ${lit(String(was))}`);
  }
  return done;
}

/** Deletes files of the data path (a folder, or S3 through the data path's settings); how many. */
async function deleteFiles(paths: readonly string[], dataPath: DataPath | undefined): Promise<number> {
  let deleted = 0;
  for (const path of paths) {
    const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(path);
    if (s3) {
      if (!dataPath?.s3) throw new Error(`cannot delete ${path}: no S3 settings for the data path`);
      await openObjectStore({ ...dataPath.s3, bucket: s3[1]! }).delete(s3[2]!);
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
      throw new Error(`cannot delete ${path}: only a folder or s3:// is supported`);
    } else {
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
    }
    deleted++;
  }
  return deleted;
}

/** Tries `fn` again while a SQLite catalog answers "database is locked" (another writer's commit overlapped). */
async function retryingLocked<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= attempts || !/database is locked/i.test(errorMessage(e))) throw e;
      await backOff(attempt, 25);
    }
  }
}

type Claim = { ok: true; started: string } | { ok: false; why: string };

/**
 * Claims this run in the catalog: `ferry_maintenance.last_run` holds one row (member, started,
 * finished). Two members claiming at once both update that row: DuckLake fails the second commit.
 */
async function claimRun(db: Db, opts: MaintainOptions): Promise<Claim> {
  try {
    await retryingLocked(() => createClaimTable(db));
    return await retryingLocked(() =>
      db.transaction(async (): Promise<Claim> => {
        const r = await db.query(
          `SELECT member, started_at::VARCHAR, finished_at IS NULL, epoch_ms(now()) - epoch_ms(started_at), epoch_ms(now()) - epoch_ms(coalesce(finished_at, started_at)) FROM ${CLAIM}`,
        );
        const [member, started, running, sinceStart] = r.rows[0] ?? [];
        if (member !== undefined && member !== "") {
          if (running === true && Number(sinceStart) < CLAIM_STALE_MS) throw new Skip(`another member (${member}) is maintaining the lake (since ${started})`);
          if (opts.everyMs !== undefined && Number(sinceStart) < opts.everyMs * SCHEDULE_SLACK) throw new Skip(`another member maintained the lake (${member}, at ${started})`);
        }
        const now = await db.query(`SELECT now()::VARCHAR`);
        const at = String(now.rows[0]![0]);
        await db.exec(`UPDATE ${CLAIM} SET member = $1, started_at = $2::TIMESTAMPTZ, finished_at = NULL`, [opts.member, at]);
        return { ok: true, started: at };
      }),
    );
  } catch (e) {
    if (e instanceof Skip) return { ok: false, why: e.message };
    // Two claims at once: DuckLake's conflict (or a SQLite catalog still locked).
    if (metAnotherWriter(e)) return { ok: false, why: `another member maintained the lake (${firstLine(errorMessage(e))})` };
    throw e;
  }
}

class Skip extends Error {}

async function createClaimTable(db: Db): Promise<void> {
  const exists = await db.query(`SELECT count(*) FROM duckdb_tables() WHERE database_name = $1 AND schema_name = $2 AND table_name = 'last_run'`, [LAKE_DB, CLAIM_SCHEMA]);
  if (Number(exists.rows[0]![0]) > 0) return;
  try {
    await db.transaction(async () => {
      await db.exec(`CREATE SCHEMA IF NOT EXISTS ${LAKE_DB}.${CLAIM_SCHEMA}`);
      await db.exec(`CREATE TABLE ${CLAIM} (member VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ)`);
      await db.exec(`INSERT INTO ${CLAIM} VALUES ('', TIMESTAMPTZ '1970-01-01 00:00:00+00', TIMESTAMPTZ '1970-01-01 00:00:00+00')`);
    });
  } catch (e) {
    // Another member created it meanwhile: its row is the one to claim.
    if (!/conflict|already exists/i.test(errorMessage(e))) throw e;
  }
}

async function finishRun(db: Db, member: string, started: string): Promise<void> {
  await retryingLocked(() => db.exec(`UPDATE ${CLAIM} SET finished_at = now() WHERE member = $1 AND started_at = $2::TIMESTAMPTZ AND finished_at IS NULL`, [member, started]));
}

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const firstLine = (s: string) => s.split("\n").find((l) => /conflict|locked/i.test(l)) ?? s.split("\n")[0]!;

export interface MaintenanceSchedule {
  /** Maintain this often (0: never): --maintain-every (maintainEveryField). */
  everyMs: number;
  policy: MaintenancePolicy;
  /** Names this member (the writer's name). */
  member: string;
  dataPath?: DataPath;
  /** Runs `fn` on a connection to the catalog of its own (the batch store's `maintenance`). */
  run: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  /** Each run's report (for metrics). */
  onReport?: (report: MaintenanceReport) => void;
}

/**
 * Runs maintenance every `everyMs` — the first run after a random part of it, so members started
 * together spread out — never two at once; a failed run is logged and the next one comes on time.
 * `stop()` ends the schedule and waits for a run in progress.
 */
export function scheduleMaintenance(s: MaintenanceSchedule, log: Logger): { stop(): Promise<void> } {
  if (s.everyMs <= 0) return { stop: async () => {} };
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const next = (delay: number) => {
    timer = setTimeout(() => {
      running = s
        .run((db) => maintain(db, s.policy, { member: s.member, everyMs: s.everyMs, dataPath: s.dataPath }, log))
        .then((r) => s.onReport?.(r))
        .catch((e) => log.warn("lake maintenance failed (tried again at the next run)", { error: errorMessage(e) }))
        .finally(() => {
          if (!stopped) next(s.everyMs);
        });
    }, delay);
    (timer as { unref?: () => void }).unref?.();
  };
  next(Math.round(s.everyMs * (0.5 + Math.random() / 2)));
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
