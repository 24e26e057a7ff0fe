/**
 * The lake's catalog: a DuckLake catalog (a SQL database holding the lake's tables, snapshots and
 * the offsets) and its data path (a folder or s3://bucket/prefix holding the Parquet files).
 * - a DuckDB file (the default, <data-dir>/lake.ducklake): one process;
 * - `sqlite:PATH`: several processes on one host;
 * - `postgres://USER@HOST:PORT/DB?sslmode=…`: many hosts (libpq's PG* variables and ~/.pgpass
 *   apply; the password may come from a file).
 * Resolved once at the edge (catalogOf); attachCatalog binds a DuckDB connection to it.
 */
import * as v from "valibot";
import { mkdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { secretOf } from "../config/files.ts";
import { str } from "../config/fields.ts";
import { type Db, loadExtension, sqlString, useS3, type S3Access } from "../db/duckdb.ts";
import { ConfigError, DownstreamError, errorMessage } from "../errors.ts";

export const catalogFields = {
  catalog: v.optional(
    str({
      doc: "The lake's catalog: a DuckDB file (default <data-dir>/lake.ducklake, one process), sqlite:PATH (several processes on one host) or postgres://USER@HOST:PORT/DB?sslmode=… (many hosts; PG* variables apply).",
      placeholder: "CATALOG",
      min: 1,
    }),
  ),
  catalogPasswordFile: v.optional(str({ doc: "File holding the PostgreSQL catalog's password (one line), instead of PGPASSWORD or ~/.pgpass.", placeholder: "FILE", min: 1 })),
};

export interface CatalogConfig {
  dataDir: string;
  catalog?: string;
  catalogPasswordFile?: string;
}

export interface Catalog {
  kind: "duckdb" | "sqlite" | "postgres";
  /** For logs and errors: never the password. */
  readonly description: string;
  /** The ATTACH target, `ducklake:…` (may hold a password: never logged). */
  readonly target: string;
  /** Text to hide from DuckDB's error messages (the password). */
  readonly secret?: string;
}

/** The database name ferry attaches the catalog as. */
export const LAKE_DB = "ferry_lake";

/** The catalog a config names, checked at the edge. */
export function catalogOf(c: CatalogConfig): Catalog {
  const given = c.catalog;
  const password = secretOf(undefined, c.catalogPasswordFile, "catalog-password");
  if (given === undefined || (!/^[a-z][a-z0-9+.-]*:/i.test(given) && !given.startsWith("sqlite:"))) {
    if (password !== undefined) throw new ConfigError("--catalog-password-file is for a PostgreSQL catalog (--catalog postgres://…)");
    const path = given === undefined ? join(c.dataDir, "lake.ducklake") : resolve(given);
    return { kind: "duckdb", description: path, target: `ducklake:${path}` };
  }
  if (given.startsWith("sqlite:")) {
    if (password !== undefined) throw new ConfigError("--catalog-password-file is for a PostgreSQL catalog (--catalog postgres://…)");
    const path = given.slice("sqlite:".length);
    if (path === "") throw new ConfigError("--catalog sqlite:PATH: the path is missing");
    const abs = isAbsolute(path) ? path : resolve(path);
    return { kind: "sqlite", description: `sqlite:${abs}`, target: `ducklake:sqlite:${abs}` };
  }
  if (/^postgres(ql)?:\/\//i.test(given)) return postgresCatalog(given, password);
  throw new ConfigError(`--catalog ${redactUrl(given)}: expected a DuckDB file path, sqlite:PATH or postgres://USER@HOST:PORT/DB`);
}

/** libpq's keyword=value form of a postgres:// URL (password from the URL or the file). */
function postgresCatalog(url: string, passwordFromFile: string | undefined): Catalog {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`--catalog ${redactUrl(url)}: not a valid postgres:// URL`);
  }
  if (u.password && passwordFromFile !== undefined) throw new ConfigError("give the catalog's password once: in the URL or in --catalog-password-file, not both");
  const password = passwordFromFile ?? (u.password ? decodeURIComponent(u.password) : undefined);
  const dbname = decodeURIComponent(u.pathname.replace(/^\//, ""));
  const pairs: [string, string][] = [];
  if (u.hostname) pairs.push(["host", decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ""))]);
  if (u.port) pairs.push(["port", u.port]);
  if (dbname) pairs.push(["dbname", dbname]);
  if (u.username) pairs.push(["user", decodeURIComponent(u.username)]);
  for (const [k, val] of u.searchParams) {
    if (!/^[a-z_]+$/.test(k)) throw new ConfigError(`--catalog: ${JSON.stringify(k)} is not a libpq connection parameter`);
    if (k === "password") throw new ConfigError("--catalog: give the password in the URL's user part, PGPASSWORD or --catalog-password-file");
    pairs.push([k, val]);
  }
  // A writer paused inside its transaction (SIGSTOP, a stalled VM) holds row locks that block
  // every other member: the server ends such a session after this long (unless the URL says otherwise).
  if (!pairs.some(([k]) => k === "options")) pairs.push(["options", `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`]);
  const shown = pairs.map(([k, val]) => `${k}=${libpqValue(val)}`).join(" ");
  const all = password === undefined ? shown : `${shown} password=${libpqValue(password)}`;
  const where = `postgres://${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}${u.pathname}`;
  return { kind: "postgres", description: where, target: `ducklake:postgres:${all}`, secret: password };
}

/** How long the PostgreSQL catalog lets a transaction sit idle (longer than any batch's commit, S3 uploads included). */
export const IDLE_IN_TRANSACTION_MS = 120_000;

const libpqValue = (s: string) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
const redactUrl = (s: string) => s.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");

/** Where the lake's Parquet files are: a local folder or s3://bucket/prefix (with its S3 settings). */
export interface DataPath {
  /** A folder (absolute) or s3://bucket/prefix, ending in "/". */
  url: string;
  s3?: S3Access;
}

export interface AttachOptions {
  readOnly?: boolean;
  /** Time travel: attach the catalog as of this snapshot (read-only). */
  snapshot?: { version: number } | { time: string };
}

/**
 * Attaches the catalog to a connection's database as LAKE_DB (loading DuckDB's ducklake extension,
 * and postgres / sqlite when the catalog is there). A new catalog is created with `dataPath`; an
 * existing one keeps the data path it was created with (DuckLake records it). Errors never show
 * the password.
 */
export async function attachCatalog(db: Db, catalog: Catalog, dataPath: DataPath | undefined, opts: AttachOptions = {}): Promise<void> {
  const hide = (e: unknown) => {
    const text = errorMessage(e);
    return catalog.secret ? text.replaceAll(catalog.secret, "***") : text;
  };
  try {
    await loadExtension(db, "ducklake");
    if (catalog.kind === "postgres") await loadExtension(db, "postgres");
    if (catalog.kind === "sqlite") await loadExtension(db, "sqlite");
    if (dataPath?.s3) await useS3(db, dataPath.s3);
    // DuckLake makes only the last folder of a table's path: the data path must exist (and must
    // before a query lockdown, which allows the folder's contents, not the folder itself).
    if (dataPath && !dataPath.url.startsWith("s3://") && !opts.readOnly && !opts.snapshot) mkdirSync(dataPath.url, { recursive: true });
    const options = [
      dataPath && `DATA_PATH ${sqlString(dataPath.url)}`,
      opts.readOnly || opts.snapshot ? "READ_ONLY" : undefined,
      opts.snapshot && "version" in opts.snapshot ? `SNAPSHOT_VERSION ${Math.floor(opts.snapshot.version)}` : undefined,
      opts.snapshot && "time" in opts.snapshot ? `SNAPSHOT_TIME ${sqlString(opts.snapshot.time)}` : undefined,
      // SQLite's rollback journal wedges the catalog when two transactions overlap (a failed COMMIT
      // keeps its lock until the process exits); in WAL mode the later commit fails at once
      // ("database is locked") and is tried again (maintenance.ts).
      catalog.kind === "sqlite" ? "META_JOURNAL_MODE 'WAL', META_BUSY_TIMEOUT 5000" : undefined,
    ].filter(Boolean);
    await db.exec(`ATTACH ${sqlString(catalog.target)} AS ${LAKE_DB}${options.length ? ` (${options.join(", ")})` : ""}`);
  } catch (e) {
    throw new DownstreamError("catalog", `cannot attach the lake's catalog ${catalog.description}: ${hide(e)}`);
  }
}

/** The file holding a DuckDB-file or SQLite catalog (undefined: a PostgreSQL catalog). */
export function catalogFileOf(catalog: Catalog): string | undefined {
  if (catalog.kind === "duckdb") return catalog.target.slice("ducklake:".length);
  if (catalog.kind === "sqlite") return catalog.target.slice("ducklake:sqlite:".length);
  return undefined;
}
