/**
 * A Cassandra table read as records: the ring cut into token ranges, each range read page by page
 * (`token(pk) > start AND token(pk) <= end`), each row turned into a JSON value keyed by its
 * partition-key columns. The next page is fetched while the caller handles the current one.
 */
import type { Client } from "cassandra-driver";
import { describeCassandraError, quoteId, type TableColumn, type TableInfo } from "../cassandra/client.ts";
import { CQL, encoderFor, jsonSchemaFor, nullableEncoder } from "../cassandra/cql-json.ts";
import { splitRing, type TokenRange } from "../cassandra/token-ranges.ts";
import { DownstreamError } from "../errors.ts";
import type { JsonSchema } from "../schema/json-schema.ts";
import type { OutRecord } from "../sinks/record-targets.ts";

export interface TableScanOptions {
  /** Columns in the value (default: all, in the table's order). */
  columns?: string[];
  pageSize: number;
  /** How many token ranges the ring is cut into. */
  splits: number;
}

export interface TableScan {
  readonly ranges: TokenRange[];
  /** The columns in each value, in order. */
  readonly columns: TableColumn[];
  /** The JSON Schema (draft-07) of each value, from the table's metadata. */
  readonly valueSchema: JsonSchema;
  /**
   * Reads one range; `onPage` gets each page's records and is awaited before the page after the
   * next is fetched. Stops early (returning false) when `signal` is aborted.
   */
  scanRange(range: TokenRange, onPage: (records: OutRecord[]) => Promise<void>, signal: AbortSignal): Promise<boolean>;
}

/** The value's columns: those named (each must exist), or all of them. */
export function pickColumns(info: TableInfo, names: string[] | undefined): TableColumn[] {
  if (!names || names.length === 0) return info.columns;
  const byName = new Map(info.columns.map((c) => [c.name, c]));
  return names.map((n) => {
    const c = byName.get(n);
    if (!c) throw new DownstreamError("cassandra", `table ${info.keyspace}.${info.table} has no column "${n}" (columns: ${info.columns.map((x) => x.name).join(", ")})`);
    return c;
  });
}

/** Row → JSON text, with the column names' prefixes built once. */
export function rowEncoder(columns: TableColumn[]): (row: Record<string, unknown>) => string {
  const parts = columns.map((c, i) => ({ name: c.name, prefix: `${i === 0 ? "{" : ","}${JSON.stringify(c.name)}:`, enc: nullableEncoder(encoderFor(c.type)) }));
  return (row) => {
    let out = "";
    for (const p of parts) out += p.prefix + p.enc(row[p.name]);
    return parts.length === 0 ? "{}" : `${out}}`;
  };
}

/**
 * The message key: one partition-key column → its value as text (a string as it is, anything else
 * as its JSON text); several → a JSON array of them.
 */
export function keyEncoder(partitionKey: TableColumn[]): (row: Record<string, unknown>) => string {
  const encs = partitionKey.map((c) => ({ name: c.name, enc: nullableEncoder(encoderFor(c.type)), text: isText(c) }));
  if (encs.length === 1) {
    const [k] = encs as [(typeof encs)[0]];
    return k.text ? (row) => String(row[k.name]) : (row) => unquote(k.enc(row[k.name]));
  }
  return (row) => `[${encs.map((k) => k.enc(row[k.name])).join(",")}]`;
}

/** Every column is in every value (null when unset); primary-key columns are never null. */
export function valueSchemaOf(info: TableInfo, columns: TableColumn[], primaryKey: ReadonlySet<string>): JsonSchema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: `${info.keyspace}.${info.table}`,
    description: `A row of the Cassandra table ${info.keyspace}.${info.table}, exported by ferry.`,
    type: "object",
    properties: Object.fromEntries(
      columns.map((c) => [c.name, primaryKey.has(c.name) ? jsonSchemaFor(c.type) : { anyOf: [jsonSchemaFor(c.type), { type: "null" }] }]),
    ),
    required: columns.map((c) => c.name),
    additionalProperties: false,
  };
}

const isText = (c: TableColumn) => c.type.code === CQL.text || c.type.code === CQL.varchar || c.type.code === CQL.ascii;
const unquote = (json: string) => (json.startsWith('"') ? (JSON.parse(json) as string) : json);

export function createTableScan(client: Client, info: TableInfo, opts: TableScanOptions): TableScan {
  const columns = pickColumns(info, opts.columns);
  // The partition key is read even when not in the value: it makes the message key.
  const selected = [...columns];
  for (const pk of info.partitionKey) if (!selected.some((c) => c.name === pk.name)) selected.push(pk);
  const token = `token(${info.partitionKey.map((c) => quoteId(c.name)).join(", ")})`;
  const cql =
    `SELECT ${selected.map((c) => quoteId(c.name)).join(", ")} FROM ${quoteId(info.keyspace)}.${quoteId(info.table)} ` +
    `WHERE ${token} > ? AND ${token} <= ?`;
  const encodeRow = rowEncoder(columns);
  const encodeKey = keyEncoder(info.partitionKey);
  const ranges = splitRing(info.ring, opts.splits);

  const fetchPage = (range: TokenRange, pageState: string | undefined) => {
    const page = readPage(range, pageState);
    page.catch(() => {}); // awaited later; a failure while the caller is busy must not go unhandled
    return page;
  };
  const readPage = async (range: TokenRange, pageState: string | undefined) => {
    try {
      return await client.execute(cql, [range.start, range.end], { prepare: true, fetchSize: opts.pageSize, pageState });
    } catch (e) {
      throw new DownstreamError("cassandra", `reading token range ${range.index} (${range.start}, ${range.end}]: ${describeCassandraError(e)}`, { cause: e });
    }
  };

  return {
    ranges,
    columns,
    valueSchema: valueSchemaOf(info, columns, info.primaryKey),
    async scanRange(range, onPage, signal) {
      let next = fetchPage(range, undefined);
      for (;;) {
        const page = await next;
        if (signal.aborted) return false;
        const more = page.pageState ?? undefined;
        if (more) next = fetchPage(range, more);
        const records: OutRecord[] = new Array(page.rows.length);
        for (let i = 0; i < page.rows.length; i++) {
          const row = page.rows[i] as unknown as Record<string, unknown>;
          records[i] = { key: encodeKey(row), json: encodeRow(row), valid: true };
        }
        if (records.length > 0) await onPage(records);
        if (!more) return true;
      }
    },
  };
}
