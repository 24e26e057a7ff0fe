/**
 * What the previous release (the file-based lake, before the DuckLake catalog) left, read as it
 * left it, and which of it is committed:
 * - lake files `<lake>/<topic>/date=YYYY-MM-DD/part-<partition>-<first>-<last>.parquet` (zstd; the
 *   record's fields + kafka_partition, kafka_offset, ingested_at: the topic is the folder, the date
 *   the hive folder), in the folder or s3://bucket/prefix that is now the catalog's data path;
 * - commit markers `_ferry/commits/<topic>/<partition>/<last>-<first>-<writer>`: a range whose
 *   files are all published. A file without one belongs to a batch cut short (its records were to
 *   be read again from Kafka). A partition without any (a lake older than markers) goes by the data
 *   dir's `ferry_offsets` instead: its files below the partition's next offset are committed;
 * - `<data-dir>/ferry.duckdb`: `ferry_offsets(topic, partition, next_offset)`, and for `ferry run`
 *   (topic "orders", partition 0, ferry's own sequence as the offset) `ferry_journal`, the rows not
 *   yet rolled into the lake: a file reaching into the journal belongs to a rollup cut short.
 * planAdoption turns that into the files to adopt and where each partition continues.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Db, sqlString } from "../db/duckdb.ts";
import { openObjectStore } from "../platform/s3.ts";
import { quoteIdent } from "../schema/ddl.ts";
import type { DataPath } from "./catalog.ts";

/** A lake file of the previous release. */
export interface LegacyFile {
  topic: string;
  /** YYYY-MM-DD, from its folder. */
  date: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** Its path or s3:// URL. */
  path: string;
}

/** A commit marker: a partition's offset range whose files are all published. */
export interface LegacyMarker {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

/** What the data dir's ferry.duckdb says (absent: none there). */
export interface LegacyDataDir {
  /** "sink" (orders_rows or a keyed orders table, ferry_offsets) or "run" (ferry_journal). */
  mode: "sink" | "run";
  /** Next offset per "topic/partition", as the data dir committed it. */
  offsets: Map<string, number>;
  /** `ferry run`: the lowest sequence still in the journal (undefined: the journal is empty). */
  journalMin?: number;
  /** The lake the data dir recorded ("local" or s3://…), if any. */
  lakeLocation?: string;
}

export interface LegacyLake {
  files: LegacyFile[];
  markers: LegacyMarker[];
  dataDir?: LegacyDataDir;
}

/** `ferry run`'s lineage in the previous release. */
export const RUN_TOPIC = "orders";
export const RUN_PARTITION = 0;

const FILE = /^([^/]+)\/date=(\d{4}-\d{2}-\d{2})\/part-(\d+)-(\d+)-(\d+)\.parquet$/;
const MARKER = /^_ferry\/commits\/([^/]+)\/(\d+)\/(\d{20})-(\d{20})-[0-9a-f-]+$/;

/** A key below the lake's root → a lake file or a marker of the previous release (or neither). */
export function parseLegacyKey(rel: string, path: string): { file?: LegacyFile; marker?: LegacyMarker } {
  const f = FILE.exec(rel);
  if (f) return { file: { topic: f[1]!, date: f[2]!, partition: Number(f[3]), firstOffset: Number(f[4]), lastOffset: Number(f[5]), path } };
  const m = MARKER.exec(rel);
  if (m) return { marker: { topic: m[1]!, partition: Number(m[2]), lastOffset: Number(m[3]), firstOffset: Number(m[4]) } };
  return {};
}

/** The previous release's lake files and commit markers in the data path (a folder or S3). */
export async function listLegacyLake(dataPath: DataPath): Promise<Pick<LegacyLake, "files" | "markers">> {
  const files: LegacyFile[] = [];
  const markers: LegacyMarker[] = [];
  const take = (rel: string, path: string) => {
    const { file, marker } = parseLegacyKey(rel, path);
    if (file) files.push(file);
    if (marker) markers.push(marker);
  };
  const s3 = /^s3:\/\/([^/]+)\/(.*)$/.exec(dataPath.url);
  if (s3) {
    if (!dataPath.s3) throw new Error(`the lake ${dataPath.url} needs S3 settings`);
    const [, bucket, prefix] = s3 as unknown as [string, string, string];
    const store = openObjectStore({ bucket, ...dataPath.s3 });
    for (const o of await store.list(prefix)) take(o.key.slice(prefix.length), `s3://${bucket}/${o.key}`);
  } else {
    const root = dataPath.url;
    const dirs = (p: string) => (existsSync(p) && statSync(p).isDirectory() ? readdirSync(p) : []);
    for (const topic of dirs(root)) {
      for (const d of dirs(join(root, topic)).filter((d) => d.startsWith("date="))) {
        for (const name of dirs(join(root, topic, d))) take(`${topic}/${d}/${name}`, join(root, topic, d, name));
      }
    }
    const commits = join(root, "_ferry", "commits");
    for (const topic of dirs(commits)) for (const p of dirs(join(commits, topic))) for (const name of dirs(join(commits, topic, p))) take(`_ferry/commits/${topic}/${p}/${name}`, "");
  }
  files.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.firstOffset - b.firstOffset || a.date.localeCompare(b.date));
  return { files, markers };
}

/**
 * Reads the data dir's ferry.duckdb of the previous release through `db` (attached read-only for
 * the time of the reading; `legacyDb`: a connection to it the caller already holds open).
 */
export async function readLegacyDataDir(db: Db, path: string, legacyDb?: Db): Promise<LegacyDataDir | undefined> {
  if (legacyDb === undefined && !existsSync(path)) return undefined;
  const on = legacyDb ?? db;
  let database = "ferry_previous_release";
  if (legacyDb) {
    // The caller's connection: the file is attached there under some name (or is its main database).
    const found = await legacyDb.query(`SELECT database_name FROM duckdb_databases() WHERE path = $1`, [path]);
    database = found.rows.length > 0 ? String(found.rows[0]![0]) : String((await legacyDb.query("SELECT current_database()")).rows[0]![0]);
  } else {
    await db.exec(`ATTACH ${sqlString(path)} AS ${database} (READ_ONLY)`);
  }
  const table = (name: string) => `${quoteIdent(database)}.main.${name}`;
  try {
    const names = new Set((await on.query(`SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = $1`, [database])).rows.map((r) => String(r[0])));
    if (!names.has("ferry_offsets")) return undefined;
    const offsets = new Map<string, number>();
    for (const [t, p, n] of (await on.query(`SELECT "topic", "partition", next_offset FROM ${table("ferry_offsets")}`)).rows) offsets.set(`${t}/${p}`, Number(n));
    const out: LegacyDataDir = { mode: names.has("ferry_journal") ? "run" : "sink", offsets };
    if (out.mode === "run") {
      const min = (await on.query(`SELECT min(kafka_offset) FROM ${table("ferry_journal")}`)).rows[0]![0];
      if (min !== null) out.journalMin = Number(min);
    }
    if (names.has("ferry_lake")) {
      const at = (await on.query(`SELECT location FROM ${table("ferry_lake")}`)).rows[0]?.[0];
      if (at !== undefined && at !== null) out.lakeLocation = String(at);
    }
    return out;
  } finally {
    if (!legacyDb) await db.exec(`DETACH ${database}`);
  }
}

/** Whether the lake a data dir recorded ("local" or s3://bucket/prefix) is this data path. */
export function sameLake(recorded: string | undefined, dataPath: DataPath): boolean {
  if (recorded === undefined) return true;
  const s3 = dataPath.url.startsWith("s3://");
  if (recorded === "local") return !s3;
  return s3 && recorded.replace(/\/+$/, "") === dataPath.url.replace(/\/+$/, "");
}

/** A file to adopt. */
export interface AdoptedFile extends LegacyFile {
  /**
   * Files whose committed ranges overlap (a writer that lost its partition committed late, or a
   * batch redone with other boundaries) share a group: their rows are adopted together, each
   * offset once (the rows at one offset are the same record). Undefined: no overlap.
   */
  overlapGroup?: number;
}

export interface LeftFile extends LegacyFile {
  why: string;
}

export interface AdoptionPlan {
  adopt: AdoptedFile[];
  /** Files not adopted (their records are read again: from Kafka, or from `ferry run`'s journal). */
  left: LeftFile[];
  /** Per partition, where it continues (the next offset not in the lake). */
  offsets: { topic: string; partition: number; next: number }[];
  /** Committed ranges that overlap (by group): their offsets are adopted once. */
  overlaps: { topic: string; partition: number; group: number; ranges: string[] }[];
}

/**
 * Which files are committed and where each partition continues, by the previous release's own
 * rules (lake-batches.ts recover, embedded-orders.ts rollups):
 * - a partition with commit markers: the files of marked ranges; it continues after its last
 *   marked range, or at the data dir's offset if that is further (batches with no valid rows);
 * - a partition without markers (a lake older than them): the files below the data dir's offset;
 *   none if the data dir has no offset for it;
 * - `ferry run`'s partition (orders/0): the files below the journal's first sequence (all, if the
 *   journal is empty); it continues at the journal's first sequence (else at the data dir's).
 * Each offset is adopted once: committed ranges that overlap form a group whose rows are adopted
 * together, each offset once (a range's files may hold part of it only, so no range is dropped
 * for another).
 */
export function planAdoption(lake: LegacyLake, options: { useDataDirOffsets: boolean }): AdoptionPlan {
  const own = options.useDataDirOffsets ? (lake.dataDir?.offsets ?? new Map<string, number>()) : new Map<string, number>();
  const run = lake.dataDir?.mode === "run";
  const key = (t: string, p: number) => `${t}/${p}`;
  const partitions = new Map<string, { topic: string; partition: number }>();
  for (const x of [...lake.files, ...lake.markers]) partitions.set(key(x.topic, x.partition), { topic: x.topic, partition: x.partition });
  for (const k of own.keys()) {
    const at = k.lastIndexOf("/");
    partitions.set(k, { topic: k.slice(0, at), partition: Number(k.slice(at + 1)) });
  }
  const plan: AdoptionPlan = { adopt: [], left: [], offsets: [], overlaps: [] };
  for (const [k, { topic, partition }] of [...partitions].sort((a, b) => a[0].localeCompare(b[0]))) {
    const files = lake.files.filter((f) => f.topic === topic && f.partition === partition);
    const marked = lake.markers.filter((m) => m.topic === topic && m.partition === partition);
    const next = own.get(k);
    let committed: (f: LegacyFile) => string | undefined;
    let continues: number | undefined;
    if (run && topic === RUN_TOPIC && partition === RUN_PARTITION) {
      const journalMin = lake.dataDir!.journalMin;
      const below = journalMin ?? next;
      committed = (f) => (below !== undefined && f.lastOffset < below ? undefined : "a rollup cut short: its rows are still in ferry run's journal");
      continues = below;
    } else if (marked.length > 0) {
      const ranges = new Set(marked.map((m) => `${m.firstOffset}-${m.lastOffset}`));
      committed = (f) => (ranges.has(`${f.firstOffset}-${f.lastOffset}`) ? undefined : "no commit marker: a batch cut short, its records are read again from Kafka");
      const lakeNext = Math.max(...marked.map((m) => m.lastOffset + 1));
      continues = next === undefined ? lakeNext : Math.max(next, lakeNext);
    } else {
      committed = (f) =>
        next !== undefined && f.lastOffset < next ? undefined : next === undefined ? "no commit marker and no offset in the data dir: its records are read again from Kafka" : "no commit marker and past the data dir's offset: a batch cut short, its records are read again from Kafka";
      continues = next;
    }
    const kept = files.filter((f) => {
      const why = committed(f);
      if (why !== undefined) plan.left.push({ ...f, why });
      return why === undefined;
    });
    // Ranges in offset order; those that overlap (transitively) form a group.
    const ranges = [...new Map(kept.map((f) => [`${f.firstOffset}-${f.lastOffset}`, f])).values()].sort((a, b) => a.firstOffset - b.firstOffset || a.lastOffset - b.lastOffset);
    const groupOf = new Map<string, number>();
    let end = -1;
    let members: string[] = [];
    const close = () => {
      if (members.length > 1) {
        const group = plan.overlaps.length;
        plan.overlaps.push({ topic, partition, group, ranges: members });
        for (const id of members) groupOf.set(id, group);
      }
      members = [];
    };
    for (const r of ranges) {
      if (r.firstOffset > end) close();
      members.push(`${r.firstOffset}-${r.lastOffset}`);
      end = Math.max(end, r.lastOffset);
    }
    close();
    for (const f of kept) {
      const group = groupOf.get(`${f.firstOffset}-${f.lastOffset}`);
      plan.adopt.push(group === undefined ? f : { ...f, overlapGroup: group });
    }
    if (continues !== undefined) plan.offsets.push({ topic, partition, next: continues });
  }
  return plan;
}
