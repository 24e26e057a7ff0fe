/**
 * The DuckDB owner: the only module that opens databases and runs SQL. It hands out plain
 * results (column names, types and JSON-safe rows) so nothing else depends on the driver.
 */
import { keepByteOrderMarks } from "./node-api-text.ts";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { DownstreamError, errorMessage } from "../errors.ts";
import { redactSecrets } from "../log/redact.ts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { extensionPath, loadDuckDb, type ExtensionName } from "../platform/duckdb-native.ts";
import type { S3Settings } from "../platform/s3.ts";

import type { JsonValue, QueryResult } from "../query-result.ts";

export type { JsonValue, QueryResult };

export interface Db {
  /** Runs statements, returning the last statement's result. */
  query(sql: string, params?: Record<string, unknown> | unknown[]): Promise<QueryResult>;
  exec(sql: string, params?: Record<string, unknown> | unknown[]): Promise<void>;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Another connection to the same database (its statements run beside this one's; closed with it). */
  connect(): Promise<Db>;
  close(): void;
}

export interface OpenOptions {
  readOnly?: boolean;
}

/** Opens a DuckDB database file (created with its folder unless read-only), or ":memory:". */
export async function openDb(path: string, opts: OpenOptions = {}): Promise<Db> {
  const duckdb = await loadDuckDb();
  await keepByteOrderMarks();
  if (path !== ":memory:" && !opts.readOnly) mkdirSync(dirname(path), { recursive: true });
  let instance: InstanceType<typeof duckdb.DuckDBInstance>;
  try {
    // Extensions ferry uses are linked in (parquet, json, icu) or loaded from the binary (httpfs):
    // no SQL makes DuckDB download one (an unknown function or a CREATE SECRET would, from extensions.duckdb.org).
    instance = await duckdb.DuckDBInstance.create(path, { ...(opts.readOnly ? { access_mode: "READ_ONLY" } : {}), autoinstall_known_extensions: "false" });
  } catch (e) {
    throw new DownstreamError("duckdb", `cannot open ${path}: ${errorMessage(e)}`, { cause: e });
  }
  const others = new Set<Db>();
  const db = await connectionOf(instance, () => {
    for (const o of others) o.close();
    others.clear();
    instance.closeSync();
  });
  db.connect = async () => {
    const other = await connectionOf(instance, () => others.delete(other));
    others.add(other);
    return other;
  };
  return db;
}

/** A connection's driver handle and how many calls are running on it (src/db/ only). */
interface Handle {
  conn: DuckDBConnection;
  busy: number;
  /** Closed as soon as nothing runs on it (a close() that came while it was busy). */
  closing: boolean;
  closeNow(): void;
}
const handles = new WeakMap<Db, Handle>();

/**
 * Runs `fn` with the connection's driver handle (for src/db/ modules that need more of the driver
 * than Db offers: statement types, interrupt). A close() meanwhile interrupts it, and the
 * connection closes once `fn` has ended (never under a running call).
 */
export async function withDriverConnection<T>(db: Db, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const h = handles.get(db);
  if (h === undefined || h.closing) throw new DownstreamError("duckdb", "the connection is closed");
  h.busy++;
  try {
    return await fn(h.conn);
  } finally {
    if (--h.busy === 0 && h.closing) h.closeNow();
  }
}

async function connectionOf(instance: { connect(): Promise<DuckDBConnection> }, closeInstance: () => void): Promise<Db> {
  const conn = await instance.connect();
  const wrap = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await withDriverConnection(db, f);
    } catch (e) {
      if (e instanceof DownstreamError) throw e;
      // An INTERNAL error carries DuckDB's native stack trace (kilobytes): the message stops before it.
      const message = redactSecrets(errorMessage(e)).replace(/\n+\s*Stack Trace:?[\s\S]*$/i, "");
      // An error that quoted a secret does not travel on as a cause.
      throw new DownstreamError("duckdb", message, message === errorMessage(e) || !/password\s*=/i.test(errorMessage(e)) ? { cause: e } : undefined);
    }
  };
  let closed = false;
  const db: Db = {
    query: (sql, params) =>
      wrap(async () => {
        const reader = await conn.runAndReadAll(sql, params as never);
        return {
          columns: reader.deduplicatedColumnNames(),
          types: reader.columnTypes().map((t) => t.toString()),
          rows: reader.getRowsJson() as JsonValue[][],
        };
      }),
    exec: (sql, params) =>
      wrap(async () => {
        await conn.run(sql, params as never);
      }),
    transaction: async (fn) => {
      await db.exec("BEGIN TRANSACTION");
      try {
        const result = await fn();
        await db.exec("COMMIT");
        return result;
      } catch (e) {
        await db.exec("ROLLBACK").catch(() => {});
        throw e;
      }
    },
    connect: () => Promise.reject(new Error("connect() on a secondary connection")),
    close: () => {
      if (handle.closing) return;
      handle.closing = true;
      // A statement still running (a query on its own connection) is stopped; the connection
      // closes when it returns.
      if (handle.busy > 0) conn.interrupt();
      else handle.closeNow();
    },
  };
  const handle: Handle = {
    conn,
    busy: 0,
    closing: false,
    closeNow: () => {
      if (closed) return;
      closed = true;
      conn.closeSync();
      closeInstance();
    },
  };
  handles.set(db, handle);
  return db;
}

export { redactSecrets } from "../log/redact.ts";

/** Serializes async work on one resource (a DuckDB connection takes one statement at a time). */
export function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
}

/** A SQL string literal. */
export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Paths of the data dir's parts. */
export const dataPaths = (dataDir: string) => ({
  database: join(dataDir, "ferry.duckdb"),
  lake: join(dataDir, "lake"),
  /** Where the process holding the database answers queries (`ferry query` while it runs). */
  socket: join(dataDir, "ferry.sock"),
  /** `ferry run`'s write-ahead log: orders acknowledged and not yet applied to the database. */
  wal: join(dataDir, "ferry.wal"),
});

/** How DuckDB reaches a lake on S3 (through its httpfs extension, embedded in the binary): the store's settings but the bucket. */
export type S3Access = Omit<S3Settings, "bucket">;

/** Loads one of the DuckDB extensions embedded in the binary (httpfs, ducklake, postgres, sqlite) on this database. */
export async function loadExtension(db: Db, name: ExtensionName): Promise<void> {
  await db.exec(`LOAD ${sqlString(await extensionPath(name))}`);
}

/** Lets a connection read s3:// paths (httpfs, and an in-memory secret). */
export async function useS3(db: Db, s3: S3Access): Promise<void> {
  await loadExtension(db, "httpfs");
  const options = [
    "TYPE s3",
    s3.accessKeyId && `KEY_ID ${sqlString(s3.accessKeyId)}`,
    s3.secretAccessKey && `SECRET ${sqlString(s3.secretAccessKey)}`,
    s3.sessionToken && `SESSION_TOKEN ${sqlString(s3.sessionToken)}`,
    s3.region && `REGION ${sqlString(s3.region)}`,
    s3.endpoint && `ENDPOINT ${sqlString(s3.endpoint.replace(/^https?:\/\//, "").replace(/\/$/, ""))}`,
    s3.endpoint && `USE_SSL ${s3.endpoint.startsWith("http://") ? "false" : "true"}`,
    `URL_STYLE ${s3.pathStyle ? "'path'" : "'vhost'"}`,
  ].filter(Boolean);
  // In memory only (secrets are temporary unless PERSISTENT): the key never reaches a file.
  await db.exec(`CREATE OR REPLACE SECRET ferry_lake (${options.join(", ")})`);
  // httpfs buffers one multipart part per file being written, sized max file size / 10,000 parts:
  // 80 MiB by default, more than ferry run's whole memory limit. 50 GB files → 5 MiB parts (S3's least).
  await db.exec(`SET s3_uploader_max_filesize = '50GB'`);
}
