/** `ferry query`: SQL over the orders table (ferry.duckdb) and the Parquet lake (view `lake`). */
import { existsSync } from "node:fs";
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { oneOf, str } from "../config/fields.ts";
import { type Db, dataPaths, offerLake, openDb, type QueryResult, recordedLakeLocation, type S3Access } from "../db/duckdb.ts";
import { lockDown } from "../db/query-lockdown.ts";
import { DEFAULT_QUERY_SETTINGS, type QueryAsk } from "../db/query-service.ts";
import { readOnlyQuery } from "../db/read-only-query.ts";
import { queryAskFields } from "../config/query.ts";
import { s3AccessOf, s3Fields } from "../sinks/lake-target.ts";
import { errorMessage } from "../errors.ts";
import { formatResult, OUTPUT_FORMATS } from "../db/format.ts";
import { queryOverSocket } from "../platform/local-socket.ts";
import { createOrdersTables, ORDER_ROWS } from "../sinks/orders-table.ts";
import { defineMode } from "./mode.ts";

/**
 * Runs SQL over a data dir, as a read within a time limit (read-only-query.ts): the database
 * file opened read-only; when another ferry process holds it (DuckDB allows one writer process),
 * through that process's query socket, which checks and limits it the same way.
 */
export async function runQuery(dataDir: string, sql: string, s3?: S3Access, ask: QueryAsk = {}): Promise<QueryResult> {
  const paths = dataPaths(dataDir);
  const exists = existsSync(paths.database);
  let db: Db;
  try {
    db = await openDb(exists ? paths.database : ":memory:", { readOnly: exists });
  } catch (e) {
    if (existsSync(paths.socket) && /lock/i.test(errorMessage(e))) return queryOverSocket(paths.socket, sql, ask);
    throw e;
  }
  try {
    // Nothing ingested yet: the tables exist, empty, so a first query answers 0 rows.
    if (!exists) await createOrdersTables(db);
    const lake = (await recordedLakeLocation(db)) ?? paths.lake;
    if (ask.access === "locked") await lockDown(db, { dirs: [dataDir, lake], s3: /^s3:\/\//.test(lake) ? s3 : undefined });
    await offerLake(db, lake, ORDER_ROWS.emptyLake, s3);
    return await readOnlyQuery(db, sql, { timeoutMs: ask.timeoutMs ?? DEFAULT_QUERY_SETTINGS.timeoutMs });
  } finally {
    db.close();
  }
}

export const queryMode = defineMode({
  name: "query",
  summary: "Run SQL over the orders table and the Parquet lake (no server needed)",
  details:
    "Opens <data-dir>/ferry.duckdb read-only (empty tables if it does not exist yet; through the running\n" +
    "ferry's socket when `ferry run` holds it) and\n" +
    "offers the whole lake as the view `lake` (Hive partitions, union by name; a lake on S3 through\n" +
    "DuckDB's httpfs extension, embedded, with the --s3-* settings or AWS_* variables).\n" +
    "Reads only: SELECT (FROM, WITH, DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN; anything else is refused\n" +
    "before it runs. The SQL may read any file or URL this user can, unless --access locked (see README).\n" +
    'Example: ferry query "select date, count(*) from lake group by 1"',
  positional: { key: "sql", name: "SQL" },
  config: v.object({
    sql: str({ doc: "The SQL to run; the last statement's rows are printed.", placeholder: "SQL", min: 1 }),
    format: v.optional(oneOf(OUTPUT_FORMATS, { doc: "Output format (json = one JSON object per line)." }), "table"),
    ...queryAskFields,
    // Where the lake is comes from the data dir (a sink records it); these reach it on S3.
    ...s3Fields,
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const result = await runQuery(config.dataDir, config.sql, s3AccessOf(config), { timeoutMs: config.timeout, access: config.access });
    ctx.out(formatResult(result, config.format));
    return 0;
  },
});
