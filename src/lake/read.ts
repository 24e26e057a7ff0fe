/**
 * How a reader sees the catalog (`ferry query`, and queries through a running ferry's socket):
 * `lake` and `orders` as names, at the newest snapshot or at one asked for (time travel), and where
 * the catalog keeps its data files.
 */
import { type Db, sqlString } from "../db/duckdb.ts";
import type { SnapshotAt } from "../db/query-service.ts";
import { ConfigError } from "../errors.ts";
import { LAKE_DB } from "./catalog.ts";
import { lakeTableOf, ordersOfSql } from "./tables.ts";

/** DuckLake's time-travel clause for a table reference. */
export function atSnapshotSql(at: SnapshotAt): string {
  if ("version" in at) return `AT (VERSION => ${Math.floor(at.version)})`;
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
