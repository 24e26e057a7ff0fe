/**
 * How a record kind's rows look in DuckDB and in the lake, all derived from its schema: the
 * record's columns plus lineage. A batch arrives as a JSON array of rows (one string), which DuckDB
 * decodes with the column types of the schema.
 */
import { sqlString } from "../db/duckdb.ts";
import { type Column, columnsOf, quoteIdent } from "../schema/ddl.ts";
import { RECORD_KINDS, type RecordKind } from "../schema/kinds.ts";
import type { LineageSegment } from "../pipeline/lineage.ts";
import { LINEAGE_COLUMNS } from "../schema/orders-table.ts";

export interface RowLayout {
  columns: Column[];
  /** Quoted column list of a row in DuckDB (record columns + lineage). */
  rowColumns: string;
  /** Quoted column list of a lake row: like rowColumns without kafka_topic (the topic is the folder). */
  lakeColumns: string;
  /** SQL turning parameter $1 (a JSON array of rows) into rows of `rowColumns`. */
  rowsFromJson: string;
  /** SQL reading a newline-delimited JSON file of rows (DuckDB's parallel reader: the fast path for big batches). */
  rowsFromNdjsonFile: (path: string) => string;
  /**
   * SQL reading a newline-delimited JSON file of record values tagged with their lineage in short:
   * `"_s"` (an index into `segments`: topic, partition, time received) and `"_o"` (the offset).
   */
  rowsFromTaggedNdjsonFile: (path: string, segments: readonly LineageSegment[]) => string;
}

export function rowLayout(kind: RecordKind): RowLayout {
  const k = RECORD_KINDS[kind];
  const columns = [...columnsOf(k.schema), ...LINEAGE_COLUMNS];
  const rowColumns = columns.map((c) => quoteIdent(c.name)).join(", ");
  const types = columns.map((c) => [c.name, c.sql.replace(/\s+(PRIMARY KEY|NOT NULL)/g, "")] as const);
  const structure = JSON.stringify([Object.fromEntries(types)]);
  const struct = (ts: (readonly [string, string])[]) => `{${ts.map(([n, t]) => `${sqlString(n)}: ${sqlString(t)}`).join(", ")}}`;
  const columnsStruct = struct(types);
  const lineageNames = new Set(LINEAGE_COLUMNS.map((c) => c.name));
  const recordStruct = struct([...types.filter(([n]) => !lineageNames.has(n)), ["_s", "INTEGER"], ["_o", "BIGINT"]]);
  return {
    columns,
    rowColumns,
    lakeColumns: columns
      .filter((c) => c.name !== "kafka_topic")
      .map((c) => quoteIdent(c.name))
      .join(", "),
    rowsFromJson: `SELECT ${rowColumns} FROM (SELECT unnest(from_json($1::JSON, '${structure}'), recursive := true))`,
    rowsFromNdjsonFile: (path) => `SELECT ${rowColumns} FROM read_json(${sqlString(path)}, format = 'newline_delimited', columns = ${columnsStruct})`,
    rowsFromTaggedNdjsonFile: (path, segments) => {
      const values = segments.map((g, i) => `(${i}, ${sqlString(g.topic)}, ${g.partition}, ${sqlString(g.ingestedAt)}::TIMESTAMPTZ)`).join(", ");
      return (
        `SELECT ${rowColumns} FROM (SELECT *, _o AS kafka_offset FROM read_json(${sqlString(path)}, format = 'newline_delimited', columns = ${recordStruct}) ` +
        `JOIN (VALUES ${values}) AS segment(_s, kafka_topic, kafka_partition, ingested_at) USING (_s))`
      );
    },
  };
}
