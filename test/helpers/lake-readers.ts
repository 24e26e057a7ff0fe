/**
 * Readers of the lake that ferry did not write, from PyPI, pinned, each installed once into its own
 * folder of the cache (${FERRY_CACHE:-~/.cache/ferry}/python-<name>-<version>, as peers.ts does; pip's
 * output goes to <folder>.install.log): DuckDB's Python package with its ducklake and postgres
 * extension wheels (test/helpers/duckdb_read_catalog.py), pyarrow (pyarrow_read_files.py) and
 * PySpark 3.5 on the machine's Java (spark_read_files.py). Each script prints one JSON object; values
 * in the same text whichever reader read them (lake_values.py).
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { runCommand } from "./command.ts";

const CACHE = process.env.FERRY_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ferry");

export interface PythonLibs {
  /** The folder on PYTHONPATH. */
  dir: string;
  /** pip requirements, pinned. */
  specs: string[];
  /** A module folder whose presence means the install is complete. */
  probe: string;
}

export const DUCKDB_PYTHON: PythonLibs = {
  dir: join(CACHE, "python-duckdb-1.5.5"),
  // pytz: DuckDB's Python package needs it to hand out TIMESTAMP WITH TIME ZONE values.
  specs: ["duckdb==1.5.5", "duckdb-extension-ducklake==1.5.5", "duckdb-extension-postgres==1.5.5", "pytz==2026.6"],
  probe: "duckdb_extension_postgres",
};
/** The same folder as peers.ts's pyarrow. */
export const PYARROW: PythonLibs = { dir: join(CACHE, "python-pyarrow-22.0.0"), specs: ["pyarrow==22.0.0"], probe: "pyarrow" };
export const PYSPARK: PythonLibs = { dir: join(CACHE, "python-pyspark-3.5.9"), specs: ["pyspark==3.5.9"], probe: "pyspark" };

/**
 * Installs `libs` unless already there: into a folder of this process, renamed into place when
 * complete (an install cut short is never taken for one). Answers how long it took (0: cached).
 */
export async function installPythonLibs(libs: PythonLibs): Promise<number> {
  if (existsSync(join(libs.dir, libs.probe))) return 0;
  const started = performance.now();
  const tmp = `${libs.dir}.tmp-${process.pid}`;
  const log = `${libs.dir}.install.log`;
  rmSync(tmp, { recursive: true, force: true });
  const p = Bun.spawn(["python3", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--target", tmp, ...libs.specs], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  writeFileSync(log, `${out}${err}`);
  if (code !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`pip install ${libs.specs.join(" ")} exited ${code} (log: ${log}): ${err.slice(-1500)}`);
  }
  if (existsSync(join(libs.dir, libs.probe))) rmSync(tmp, { recursive: true, force: true }); // another run got there first
  else {
    rmSync(libs.dir, { recursive: true, force: true }); // an older install cut short
    renameSync(tmp, libs.dir);
  }
  return performance.now() - started;
}

const script = (name: string) => resolve(import.meta.dir, name);
const python = (libs: PythonLibs, args: string[], env: Record<string, string> = {}) =>
  runCommand(["python3", ...args], { PYTHONPATH: libs.dir, PYTHONNOUSERSITE: "1", TZ: "UTC", ...env });

/** A value as every reader prints it (null, or text: numbers too, as BIGINTs come as text from ferry query). */
export type Cell = string | null;
export const cells = (row: unknown[]): Cell[] => row.map((v) => (v === null || v === undefined ? null : String(v)));

export interface CatalogTable {
  /** [name, DuckDB type]. */
  columns: [string, string][];
  /** Per column, the Python types of its values (e.g. Decimal, datetime(tz), date). */
  kinds: Record<string, string[]>;
  rows: unknown[][];
}

/** DuckDB's Python package attaches the catalog (`ducklake:…`) read-only and reads `lake` and `orders`. */
export async function duckdbPythonRead(target: string) {
  const out = await python(DUCKDB_PYTHON, [script("duckdb_read_catalog.py")], { FERRY_READER_CATALOG: target });
  return JSON.parse(out) as { duckdb: string; extensions: Record<string, string>; snapshot: number; files: string[]; tables: { lake: CatalogTable; orders: CatalogTable } };
}

export interface WholeFolderRead {
  types?: Record<string, string>;
  rows?: number;
  error?: string;
}

/** pyarrow reads the lake table's folder of Parquet files (no catalog). */
export async function pyarrowReadFiles(tableFolder: string) {
  const out = await python(PYARROW, [script("pyarrow_read_files.py"), tableFolder]);
  return JSON.parse(out) as {
    pyarrow: string;
    files: { path: string; folder_date: string; dates: string[]; rows: number }[];
    types: Record<string, string>;
    kinds: Record<string, string[]>;
    columns: string[];
    rows: unknown[][];
    read_table: WholeFolderRead;
    read_table_unpartitioned: WholeFolderRead;
    read_table_date32: WholeFolderRead;
  };
}

export interface SparkFolder {
  /** [name, Spark's type (simpleString), nullable]. */
  schema: [string, string, boolean][];
  rows: unknown[][];
  seconds: number;
}

/** Spark 3.5 reads each lake table folder as Parquet, all in one session (its start is the cost). */
export async function sparkReadFiles(tableFolders: string[]) {
  const out = await python(PYSPARK, [script("spark_read_files.py"), ...tableFolders], { SPARK_LOCAL_IP: "127.0.0.1", PYSPARK_PYTHON: "python3" });
  return JSON.parse(out) as { spark: string; session_seconds: number; folders: Record<string, SparkFolder> };
}
