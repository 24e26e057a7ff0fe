/**
 * The Parquet lake: lake/<topic>/date=YYYY-MM-DD/part-<partition>-<firstOffset>-<lastOffset>.parquet,
 * zstd, written to a staging folder, fsynced, renamed, and the folder fsynced: a file is either
 * whole or absent. Offsets are zero-padded so names sort; the names tell what is already written.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Db, sqlString } from "../db/duckdb.ts";
import { fsyncPath } from "../pipeline/durable-files.ts";

/** An offset in a name, zero-padded so that names sort (lake files, commit markers). */
export const padOffset = (n: number) => String(n).padStart(20, "0");

export interface LakeFile {
  topic: string;
  date: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  path: string;
}

export const lakeFileName = (partition: number, first: number, last: number) =>
  `part-${String(partition).padStart(5, "0")}-${padOffset(first)}-${padOffset(last)}.parquet`;

/** This process's staging folder in a data dir; those left by killed processes are removed. */
export function lakeStaging(dataDir: string): string {
  for (const f of readdirSync(dataDir)) if (/^\.staging-\d+$/.test(f)) rmSync(join(dataDir, f), { recursive: true, force: true });
  return join(dataDir, `.staging-${process.pid}`);
}

/** A lake file written to the staging folder, and where it goes in the lake. */
export interface StagedFile {
  /** The staged file's local path. */
  from: string;
  /** Its place in the lake: `key` is its path below the lake's root, `<topic>/date=<date>/<name>`. */
  to: Omit<LakeFile, "path"> & { key: string };
}

/**
 * Writes the rows of `selectSql` as lake files into `stagingDir`, one per (topic, partition, date),
 * in one pass: `selectSql` must yield the lake columns plus `__t`, `__p` and `__d` (topic,
 * partition, date), which DuckDB partitions by. `name` gives each partition's offset range.
 */
export async function stageLakeFiles(
  db: Db,
  stagingDir: string,
  selectSql: string,
  name: (topic: string, partition: number) => { firstOffset: number; lastOffset: number },
): Promise<StagedFile[]> {
  rmSync(stagingDir, { recursive: true, force: true });
  mkdirSync(dirname(stagingDir), { recursive: true });
  await db.exec(`COPY (${selectSql}) TO ${sqlString(stagingDir)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, PARTITION_BY (__t, __p, __d))`);
  const staged: StagedFile[] = [];
  for (const t of readdirSync(stagingDir)) {
    const topic = t.replace(/^__t=/, "");
    for (const p of readdirSync(join(stagingDir, t))) {
      const partition = Number(p.replace(/^__p=/, ""));
      for (const d of readdirSync(join(stagingDir, t, p))) {
        const date = d.replace(/^__d=/, "");
        const files = readdirSync(join(stagingDir, t, p, d));
        if (files.length !== 1) throw new Error(`expected one staged file for ${t}/${p}/${d}, found ${files.length}`);
        const range = name(topic, partition);
        const key = `${topic}/date=${date}/${lakeFileName(partition, range.firstOffset, range.lastOffset)}`;
        staged.push({ from: join(stagingDir, t, p, d, files[0]!), to: { topic, date, partition, ...range, key } });
      }
    }
  }
  return staged;
}

/**
 * Moves staged files into a local lake: each staged file is fsynced, then renamed to its lake
 * name, then the folders are fsynced. A crash in between leaves whole files only; recovery goes
 * by their names. `onRenamed(n)` is called after the n-th rename (tests crash there).
 */
export async function publishLocal(lakeDir: string, staged: StagedFile[], onRenamed: (count: number) => void = () => {}): Promise<LakeFile[]> {
  await Promise.all(staged.map((f) => fsyncPath(f.from)));
  const dirs = new Set<string>();
  const out: LakeFile[] = [];
  for (const [i, f] of staged.entries()) {
    const dir = join(lakeDir, f.to.topic, `date=${f.to.date}`);
    if (!dirs.has(dir)) mkdirSync(dir, { recursive: true });
    dirs.add(dir);
    const { key, ...placed } = f.to;
    const path = join(lakeDir, key);
    renameSync(f.from, path);
    out.push({ ...placed, path });
    onRenamed(i + 1);
  }
  await Promise.all([...dirs].map(fsyncPath));
  return out;
}

/** Parses a lake file's key below the lake's root (`<topic>/date=<date>/part-…`); undefined for anything else. */
export function parseLakeKey(key: string): Omit<LakeFile, "path"> | undefined {
  const m = /^(.+)\/date=(\d{4}-\d{2}-\d{2})\/part-(\d+)-(\d+)-(\d+)\.parquet$/.exec(key);
  if (!m) return undefined;
  return { topic: m[1]!, date: m[2]!, partition: Number(m[3]), firstOffset: Number(m[4]), lastOffset: Number(m[5]) };
}

/** The lake files of a topic (all dates), from their names, sorted. */
export function listLakeFiles(lakeDir: string, topic: string): LakeFile[] {
  const root = join(lakeDir, topic);
  let dates: string[];
  try {
    dates = readdirSync(root).filter((d) => d.startsWith("date="));
  } catch {
    return [];
  }
  const files: LakeFile[] = [];
  for (const d of dates) {
    for (const name of readdirSync(join(root, d))) {
      const parsed = parseLakeKey(`${topic}/${d}/${name}`);
      if (parsed) files.push({ ...parsed, path: join(root, d, name) });
    }
  }
  return sortLakeFiles(files);
}

/** Lake files in their order: by date, partition, first offset. */
export const sortLakeFiles = (files: LakeFile[]): LakeFile[] =>
  files.sort((a, b) => a.date.localeCompare(b.date) || a.partition - b.partition || a.firstOffset - b.firstOffset);
