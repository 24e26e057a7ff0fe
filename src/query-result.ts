/** A query's answer as plain data (column names, DuckDB's type names, JSON-safe rows): what the database layer hands out and the query socket carries. */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface QueryResult {
  columns: string[];
  types: string[];
  rows: JsonValue[][];
}
