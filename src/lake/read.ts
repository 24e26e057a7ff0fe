/**
 * How a reader sees the catalog (`ferry query`, and queries through a running ferry's socket):
 * `lake` and `orders` as names, at the newest snapshot or at one asked for (time travel), and where
 * the catalog keeps its data files.
 */
import { type Db, sqlString } from "../db/duckdb.ts";
import type { SnapshotAt } from "../db/query-service.ts";
import { QueryRefusedError } from "../db/read-only-query.ts";
import { ConfigError } from "../errors.ts";
import { type Catalog, LAKE_DB } from "./catalog.ts";
import { lakeTableOf, ordersOfSql } from "./tables.ts";

/** A time DuckDB takes as TIMESTAMPTZ: a date, or a date and time with an optional zone (RFC 3339, or a space for the T). */
export const SNAPSHOT_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/** DuckLake's time-travel clause for a table reference; a time of another form is refused before any SQL is made of it. */
export function atSnapshotSql(at: SnapshotAt): string {
  if ("version" in at) {
    if (!Number.isSafeInteger(at.version) || at.version < 0) throw new QueryRefusedError(`snapshot ${at.version}: expected a snapshot number (an integer ≥ 0)`);
    return `AT (VERSION => ${at.version})`;
  }
  if (!SNAPSHOT_TIME.test(at.time)) throw new QueryRefusedError(`--at ${JSON.stringify(at.time)}: expected a date, or a date and time with an optional zone, e.g. 2026-05-01T12:00:00Z`);
  return `AT (TIMESTAMP => CAST(${sqlString(at.time)} AS TIMESTAMPTZ))`;
}

/**
 * On a connection whose catalog is attached as LAKE_DB but whose default database is another
 * (ferry run's ferry.duckdb): the temporary view `lake` over the catalog's lake table. At a
 * snapshot, `lake` shows it then, and `orders` (shadowing any other) is the latest record per
 * order_id of that lake: both tables at one snapshot.
 */
export async function offerLakeViews(conn: Db, at?: SnapshotAt): Promise<void> {
  const lake = `${LAKE_DB}.main.${lakeTableOf("orders")}${at ? ` ${atSnapshotSql(at)}` : ""}`;
  await conn.exec(`CREATE OR REPLACE TEMP VIEW lake AS SELECT * FROM ${lake}`);
  if (at) await conn.exec(`CREATE OR REPLACE TEMP VIEW orders AS ${ordersOfSql(lake)}`);
}

/** The data path the attached catalog keeps its files in (a folder ending in "/", or s3://…). */
export async function catalogDataPath(db: Db): Promise<string | undefined> {
  const r = await db.query(`SELECT value FROM ducklake_options(${sqlString(LAKE_DB)}) WHERE option_name = 'data_path' LIMIT 1`);
  const v = r.rows[0]?.[0];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** `--snapshot N` / `--at TIMESTAMP` of a config: at most one of them. */
export function snapshotAtOf(c: { snapshot?: number; at?: string }): SnapshotAt | undefined {
  if (c.snapshot !== undefined && c.at !== undefined) throw new ConfigError("give --snapshot or --at, not both");
  if (c.snapshot !== undefined) return { version: c.snapshot };
  if (c.at !== undefined) return { time: c.at };
  return undefined;
}

/**
 * Why a query lockdown (--access locked, --query-access locked) cannot hold with this catalog, or
 * undefined when it can. DuckDB's extension for a SQLite or PostgreSQL catalog, once loaded, offers
 * SQL functions that do not go through DuckDB's file system and so ignore the lockdown (checked
 * with DuckDB 1.5.5): sqlite_scan reads any SQLite file the user can; postgres_scan connects to any
 * PostgreSQL server, and postgres_query / postgres_execute pass SQL to the catalog's server.
 */
export function lockdownGap(catalog: Catalog): string | undefined {
  const why =
    catalog.kind === "sqlite"
      ? "with a SQLite catalog, SQL can read any SQLite file this user can (sqlite_scan ignores the lockdown)"
      : catalog.kind === "postgres"
        ? "with a PostgreSQL catalog, SQL can connect to any PostgreSQL server (postgres_scan) and run its own SQL on the catalog's (postgres_query, postgres_execute): the lockdown stops neither"
        : undefined;
  return why && `the locked query setting cannot hold ${why}; it is refused rather than promised: use the default catalog (a DuckDB file) for locked queries, or run them open`;
}
