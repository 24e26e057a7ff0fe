/**
 * The Parquet lake: lake/<topic>/date=YYYY-MM-DD/part-<partition>-<firstOffset>-<lastOffset>.parquet,
 * zstd, written to a staging folder, fsynced, renamed, and the folder fsynced: a file is either
 * whole or absent. Offsets are zero-padded so names sort; the names tell what is already written.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Db, sqlString } from "../db/duckdb.ts";
import { fsyncPath } from "../pipeline/durable-files.ts";

const PAD = 20;
const FILE = /^part-(\d+)-(\d+)-(\d+)\.parquet$/;

export interface LakeFile {
  topic: string;
  date: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  path: string;
}

export const lakeFileName = (partition: number, first: number, last: number) =>
  `part-${String(partition).padStart(5, "0")}-${String(first).padStart(PAD, "0")}-${String(last).padStart(PAD, "0")}.parquet`;

/** This process's staging folder in a data dir; those left by killed processes are removed. */
export function lakeStaging(dataDir: string): string {
  for (const f of readdirSync(dataDir)) if (/^\.staging-\d+$/.test(f)) rmSync(join(dataDir, f), { recursive: true, force: true });
  return join(dataDir, `.staging-${process.pid}`);
}

/**
 * Writes the rows of `selectSql` as lake files, one per (topic, partition, date), in one pass:
 * `selectSql` must yield the lake columns plus `__t`, `__p` and `__d` (topic, partition, date),
 * which DuckDB partitions by into `stagingDir` (same file system as the lake). Each staged file
 * is fsynced, then renamed to its lake name (`name` gives the offset range), then the folders are
 * fsynced. A crash in between leaves whole files only; recovery goes by their names.
 */
export async function writeLakeFiles(
  db: Db,
  lakeDir: string,
  stagingDir: string,
  selectSql: string,
  name: (topic: string, partition: number) => { firstOffset: number; lastOffset: number },
  onRenamed: (count: number) => void = () => {},
): Promise<LakeFile[]> {
  rmSync(stagingDir, { recursive: true, force: true });
  await db.exec(`COPY (${selectSql}) TO ${sqlString(stagingDir)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, PARTITION_BY (__t, __p, __d))`);
  const staged: { from: string; to: LakeFile }[] = [];
  for (const t of readdirSync(stagingDir)) {
    const topic = t.replace(/^__t=/, "");
    for (const p of readdirSync(join(stagingDir, t))) {
      const partition = Number(p.replace(/^__p=/, ""));
      for (const d of readdirSync(join(stagingDir, t, p))) {
        const date = d.replace(/^__d=/, "");
        const files = readdirSync(join(stagingDir, t, p, d));
        if (files.length !== 1) throw new Error(`expected one staged file for ${t}/${p}/${d}, found ${files.length}`);
        const range = name(topic, partition);
        const to = join(lakeDir, topic, `date=${date}`, lakeFileName(partition, range.firstOffset, range.lastOffset));
        staged.push({ from: join(stagingDir, t, p, d, files[0]!), to: { topic, date, partition, ...range, path: to } });
      }
    }
  }
  await Promise.all(staged.map((f) => fsyncPath(f.from)));
  const dirs = new Set<string>();
  for (const f of staged) {
    const dir = join(lakeDir, f.to.topic, `date=${f.to.date}`);
    if (!dirs.has(dir)) mkdirSync(dir, { recursive: true });
    dirs.add(dir);
    renameSync(f.from, f.to.path);
    onRenamed(staged.indexOf(f) + 1);
  }
  await Promise.all([...dirs].map(fsyncPath));
  rmSync(stagingDir, { recursive: true, force: true });
  return staged.map((f) => f.to);
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
      const m = FILE.exec(name);
      if (m) files.push({ topic, date: d.slice(5), partition: Number(m[1]), firstOffset: Number(m[2]), lastOffset: Number(m[3]), path: join(root, d, name) });
    }
  }
  return files.sort((a, b) => a.date.localeCompare(b.date) || a.partition - b.partition || a.firstOffset - b.firstOffset);
}
