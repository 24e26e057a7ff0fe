/**
 * The Parquet lake: lake/<topic>/date=YYYY-MM-DD/part-<partition>-<firstOffset>-<lastOffset>.parquet,
 * zstd, written to a temporary name, fsynced, renamed, and the folder fsynced: a file is either
 * whole or absent. Offsets are zero-padded so names sort; the names tell what is already written.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { type Db, sqlString } from "../db/duckdb.ts";

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

/** fsync on the runtime's thread pool: the event loop goes on meanwhile. */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes the rows of `selectSql` as one lake file, atomically. Returns its path. */
export async function writeLakeFile(db: Db, lakeDir: string, f: Omit<LakeFile, "path">, selectSql: string, params?: unknown[]): Promise<string> {
  const dir = join(lakeDir, f.topic, `date=${f.date}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, lakeFileName(f.partition, f.firstOffset, f.lastOffset));
  const temp = `${path}.tmp-${process.pid}`;
  try {
    await db.exec(`COPY (${selectSql}) TO ${sqlString(temp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`, params);
    await fsyncPath(temp);
    renameSync(temp, path);
    await fsyncPath(dir);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  return path;
}

/** The lake files of a topic (all dates), from their names, sorted. Leftover temporary files are removed. */
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
      if (name.includes(".parquet.tmp-")) {
        rmSync(join(root, d, name), { force: true });
        continue;
      }
      const m = FILE.exec(name);
      if (m) files.push({ topic, date: d.slice(5), partition: Number(m[1]), firstOffset: Number(m[2]), lastOffset: Number(m[3]), path: join(root, d, name) });
    }
  }
  return files.sort((a, b) => a.date.localeCompare(b.date) || a.partition - b.partition || a.firstOffset - b.firstOffset);
}
