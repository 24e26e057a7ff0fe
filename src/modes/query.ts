/** `ferry query`: SQL over the lake's catalog (`lake`, `orders`) and `ferry run`'s local orders table. */
import { existsSync } from "node:fs";
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { int, oneOf, str } from "../config/fields.ts";
import { dataPaths, type Db, openDb, type QueryResult, type S3Access, sqlString, useS3 } from "../db/duckdb.ts";
import { lockDown } from "../db/query-lockdown.ts";
import { DEFAULT_QUERY_SETTINGS, type QueryAsk } from "../db/query-service.ts";
import { readOnlyQuery } from "../db/read-only-query.ts";
import { queryAskFields } from "../config/query.ts";
import { attachCatalog, type Catalog, catalogFields, catalogFileOf, catalogOf, type DataPath, LAKE_DB } from "../lake/catalog.ts";
import { dataPathOf, lakeFields, s3AccessOf } from "../lake/data-path.ts";
import { catalogDataPath, lockdownGap, offerLakeViews, SNAPSHOT_TIME, snapshotAtOf } from "../lake/read.ts";
import { createLakeTables } from "../lake/tables.ts";
import { ConfigError, errorMessage, FerryError } from "../errors.ts";
import { formatResult, OUTPUT_FORMATS } from "../db/format.ts";
import { queryOverSocket } from "../platform/local-socket.ts";
import { defineMode } from "./mode.ts";

/** Where a query reads: the data dir, its catalog (default <data-dir>/lake.ducklake), --lake if given, and S3 access. */
export interface QueryPlace {
  dataDir: string;
  catalog?: Catalog;
  /** --lake: the data path the catalog must have (it keeps the one it was made with). */
  lake?: DataPath;
  s3?: S3Access;
}

/** The name `ferry run`'s ferry.duckdb is attached as. */
const RUN_DB = "ferry";

/**
 * Runs SQL as a read within a time limit (read-only-query.ts) over the lake's catalog, attached
 * read-only (at a snapshot when asked), and `ferry run`'s ferry.duckdb when the data dir has one.
 * When another ferry process holds either (a DuckDB file has one writer process: `ferry run`, or a
 * sink on the default catalog), through that process's query socket, which checks and limits it
 * the same way.
 */
export async function runQuery(at: string | QueryPlace, sql: string, ask: QueryAsk = {}): Promise<QueryResult> {
  const place: QueryPlace = typeof at === "string" ? { dataDir: at } : at;
  const paths = dataPaths(place.dataDir);
  const catalog = place.catalog ?? catalogOf({ dataDir: place.dataDir });
  const db = await openDb(":memory:");
  try {
    let runTable = false;
    let lakePath: string | undefined;
    try {
      if (existsSync(paths.database)) {
        await db.exec(`ATTACH ${sqlString(paths.database)} AS ${RUN_DB} (READ_ONLY)`);
        // `ferry run`'s database (its journal); any other ferry.duckdb (an older sink's) is not read.
        runTable = await hasTable(db, RUN_DB, "ferry_journal");
        if (!runTable) await db.exec(`DETACH ${RUN_DB}`);
      }
      lakePath = await attachForReading(db, catalog, place, ask);
    } catch (e) {
      if (existsSync(paths.socket) && /lock/i.test(errorMessage(e))) return await queryOverSocket(paths.socket, sql, ask);
      throw e;
    }
    const s3Lake = lakePath !== undefined && /^s3:\/\//.test(lakePath);
    if (ask.access === "locked") {
      const gap = lockdownGap(catalog);
      if (gap) throw new ConfigError(`--access locked: ${gap}`);
      await lockDown(db, { dirs: [place.dataDir, ...(lakePath ? [lakePath] : [])], s3: s3Lake ? place.s3 : undefined });
    } else if (s3Lake && place.s3) await useS3(db, place.s3);
    // ferry run's own `orders` (keyed, up to the last acknowledged order) beside the catalog's `lake`;
    // otherwise (and at a snapshot: both tables then) the catalog's `lake` and `orders`.
    if (runTable && !ask.snapshot) {
      await db.exec(`USE ${RUN_DB}`);
      await offerLakeViews(db);
    } else await db.exec(`USE ${LAKE_DB}`);
    try {
      return await readOnlyQuery(db, sql, { timeoutMs: ask.timeoutMs ?? DEFAULT_QUERY_SETTINGS.timeoutMs });
    } catch (e) {
      if (s3Lake && !place.s3 && /s3|http/i.test(errorMessage(e)) && e instanceof FerryError && !(e instanceof ConfigError)) {
        throw new ConfigError(`${errorMessage(e)} (the lake's files are at ${lakePath}: give ferry query its S3 settings: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, --s3-path-style)`, { cause: e });
      }
      throw e;
    }
  } finally {
    db.close();
  }
}

/**
 * Attaches the catalog read-only as LAKE_DB (at the snapshot asked for); a DuckDB-file or SQLite
 * catalog not made yet (nothing ingested) is offered as an empty one in memory, so `lake` and
 * `orders` answer no rows rather than "no such table". Answers the catalog's data path.
 */
async function attachForReading(db: Db, catalog: Catalog, place: QueryPlace, ask: QueryAsk): Promise<string | undefined> {
  const file = catalogFileOf(catalog);
  if (file !== undefined && !existsSync(file)) {
    if (ask.snapshot) throw new ConfigError(`there is no catalog at ${catalog.description} yet: no snapshot to read (--snapshot, --at)`);
    // Nothing is written (no data path: DuckLake writes files only for rows, and there are none).
    await attachCatalog(db, { kind: "duckdb", description: "(an empty catalog in memory)", target: "ducklake::memory:" }, undefined);
    await createLakeTables(db, "orders");
    return undefined;
  }
  // DuckLake reaches an S3 data path while attaching: the S3 settings go first.
  if (place.s3) await useS3(db, place.s3);
  await attachCatalog(db, catalog, place.lake, { readOnly: true, snapshot: ask.snapshot });
  return catalogDataPath(db);
}

async function hasTable(db: Db, database: string, table: string): Promise<boolean> {
  const r = await db.query(`SELECT count(*) FROM duckdb_tables() WHERE database_name = $1 AND schema_name = 'main' AND table_name = $2`, [database, table]);
  return Number(r.rows[0]![0]) > 0;
}

export const queryMode = defineMode({
  name: "query",
  summary: "Run SQL over the lake and the orders table (no server needed)",
  details:
    "Attaches the lake's catalog read-only (--catalog: <data-dir>/lake.ducklake, sqlite:PATH or\n" +
    "postgres://…) and offers its tables `lake` (every record with its lineage) and `orders` (each\n" +
    "order_id's latest record); in the data dir of `ferry run`, `orders` is its own table in\n" +
    "<data-dir>/ferry.duckdb (every acknowledged order, before it is rolled into the lake). When a\n" +
    "running ferry holds these files, the query goes through its socket <data-dir>/ferry.sock.\n" +
    "--snapshot N or --at TIME reads `lake` and `orders` as they were then (the catalog's snapshots:\n" +
    "select * from ducklake_snapshots('ferry_lake')). A lake on S3 is read through DuckDB's httpfs\n" +
    "extension, embedded, with the --s3-* settings or AWS_* variables.\n" +
    "Reads only: SELECT (FROM, WITH, DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN; anything else is refused\n" +
    "before it runs. The SQL may read any file or URL this user can, unless --access locked (see README).\n" +
    'Example: ferry query "select date, count(*) from lake group by 1"',
  positional: { key: "sql", name: "SQL" },
  config: v.object({
    sql: str({ doc: "The SQL to run; the last statement's rows are printed.", placeholder: "SQL", min: 1 }),
    format: v.optional(oneOf(OUTPUT_FORMATS, { doc: "Output format (json = one JSON object per line)." }), "table"),
    snapshot: v.optional(int({ doc: "Read `lake` and `orders` at this snapshot of the catalog (see ducklake_snapshots('ferry_lake')).", placeholder: "N", min: 0 })),
    at: v.optional(
      str({
        doc: "Read `lake` and `orders` as they were at this time (the catalog's snapshot then), e.g. 2026-05-01T12:00:00Z.",
        placeholder: "TIME",
        min: 1,
        pattern: SNAPSHOT_TIME,
        patternHint: "must be a date, or a date and time with an optional zone, e.g. 2026-05-01T12:00:00Z",
      }),
    ),
    ...queryAskFields,
    ...catalogFields,
    ...lakeFields,
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const snapshot = snapshotAtOf(config);
    const place: QueryPlace = { dataDir: config.dataDir, catalog: catalogOf(config), lake: config.lake === undefined ? undefined : dataPathOf(config), s3: s3AccessOf(config) };
    const result = await runQuery(place, config.sql, { timeoutMs: config.timeout, access: config.access, snapshot });
    ctx.out(formatResult(result, config.format));
    return 0;
  },
});
