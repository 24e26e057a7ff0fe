/** `ferry query`: SQL over the orders table (ferry.duckdb) and the Parquet lake (view `lake`). */
import { existsSync } from "node:fs";
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { oneOf, str } from "../config/fields.ts";
import { dataPaths, lakeHasFiles, lakeViewSql, openDb } from "../db/duckdb.ts";
import { formatResult, OUTPUT_FORMATS } from "../db/format.ts";
import { defineMode } from "./mode.ts";

export const queryMode = defineMode({
  name: "query",
  summary: "Run SQL over the orders table and the Parquet lake (no server needed)",
  details:
    "Opens <data-dir>/ferry.duckdb read-only (an empty in-memory database if it does not exist yet) and\n" +
    "offers the whole lake as the view `lake` (Hive partitions, union by name).\n" +
    'Example: ferry query "select date, count(*) from lake group by 1"',
  positional: { key: "sql", name: "SQL" },
  config: v.object({
    sql: str({ doc: "The SQL to run; the last statement's rows are printed.", placeholder: "SQL", min: 1 }),
    format: v.optional(oneOf(OUTPUT_FORMATS, { doc: "Output format (json = one JSON object per line)." }), "table"),
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const paths = dataPaths(config.dataDir);
    const db = await openDb(existsSync(paths.database) ? paths.database : ":memory:", { readOnly: existsSync(paths.database) });
    try {
      if (lakeHasFiles(paths.lake)) await db.exec(lakeViewSql(paths.lake));
      const result = await db.query(config.sql);
      ctx.out(formatResult(result, config.format));
      return 0;
    } finally {
      db.close();
    }
  },
});
