/**
 * SQL from a user (`ferry query`) run so that it can only read: every statement must be a read
 * (SELECT — with FROM, WITH, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE — or EXPLAIN of one), by
 * DuckDB's own parser first and then by the type of the statement as DuckDB prepared it; nothing
 * runs unless all of them are. They run in one READ ONLY transaction (a function that writes, such as
 * nextval(), or EXPLAIN ANALYZE of a write, fails there), rolled back at the end: no transaction
 * is left open. A time limit interrupts the query; a row limit bounds what it hands back.
 */
import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBResultReader } from "@duckdb/node-api";
import { DownstreamError, errorMessage, FerryError } from "../errors.ts";
import { type Db, type JsonValue, type QueryResult, withDriverConnection } from "./duckdb.ts";

export interface QueryLimits {
  /** The query is interrupted after this many milliseconds. */
  timeoutMs: number;
  /** The limit as set, when timeoutMs is what is left of it (a query that waited for its turn): named in the error. */
  statedMs?: number;
  /** More rows than this in the answer: refused (default: no bound). */
  maxRows?: number;
}

/** The SQL is not a read (or not SQL at all): nothing of it ran. */
export class QueryRefusedError extends FerryError {}

/** The query ran past its time limit and was interrupted. */
export class QueryTimeoutError extends FerryError {}

/** The answer has more rows than the limit. */
export class QueryTooLargeError extends FerryError {}

/** DuckDB's statement types (duckdb.h, duckdb_statement_type) by number: the names in refusals. */
const STATEMENT_TYPES = [
  "INVALID", "SELECT", "INSERT", "UPDATE", "EXPLAIN", "DELETE", "PREPARE", "CREATE", "EXECUTE", "ALTER", "TRANSACTION", "COPY",
  "ANALYZE", "VARIABLE_SET", "CREATE_FUNC", "DROP", "EXPORT", "PRAGMA", "VACUUM", "CALL", "SET", "LOAD", "RELATION", "EXTENSION",
  "LOGICAL_PLAN", "ATTACH", "DETACH", "MULTI", "COPY_DATABASE", "UPDATE_EXTENSIONS", "MERGE_INTO",
] as const;
const SELECT = 1;
const EXPLAIN = 4;
/** What a refusal says (SET covers RESET and USE; LOAD covers INSTALL; VACUUM covers ANALYZE; CALL covers CHECKPOINT). */
const READS = "SELECT, FROM, WITH, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN";

export const statementTypeName = (t: number): string => STATEMENT_TYPES[t] ?? `type ${t}`;

/** Whether DuckDB's statement type `t` is one ferry query runs. */
export const isReadStatement = (t: number): boolean => t === SELECT || t === EXPLAIN;

/** Runs `sql` (one or more statements; the last one's rows are answered) as a read, within `limits`. */
export function readOnlyQuery(db: Db, sql: string, limits: QueryLimits): Promise<QueryResult> {
  return withDriverConnection(db, (conn) => runRead(conn, sql, limits));
}

async function runRead(conn: DuckDBConnection, sql: string, limits: QueryLimits): Promise<QueryResult> {
  const clock = timeLimit(conn, limits.timeoutMs);
  const prepared: DuckDBPreparedStatement[] = [];
  let begun = false;
  try {
    if (sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|[\s;]/g, "") === "") throw new QueryRefusedError("no SQL statement to run");
    await clock.run(() => parsedAsReads(conn, sql));
    await clock.run(() => conn.run("BEGIN TRANSACTION READ ONLY"));
    begun = true;
    const extracted = await clock.run(() => conn.extractStatements(sql));
    // Every statement is checked again, as DuckDB will run it, before any runs.
    for (let i = 0; i < extracted.count; i++) {
      const p = await clock.run(() => extracted.prepare(i));
      prepared.push(p);
      if (!isReadStatement(p.statementType)) {
        const which = extracted.count === 1 ? "the statement" : `statement ${i + 1} of ${extracted.count}`;
        throw new QueryRefusedError(`refused: ${which} is ${statementTypeName(p.statementType)}, and queries may only read (${READS}); nothing was run`);
      }
    }
    let last: DuckDBResultReader | undefined;
    for (const p of prepared) {
      last = await clock.run(() => (limits.maxRows === undefined ? p.streamAndReadAll() : p.streamAndReadUntil(limits.maxRows + 1)));
      if (limits.maxRows !== undefined && last.currentRowCount > limits.maxRows) {
        throw new QueryTooLargeError(
          `the query answers more than ${limits.maxRows} rows, the most the running ferry hands out (its --query-max-rows): aggregate, add a LIMIT, or query the data dir while no ferry holds it`,
        );
      }
    }
    return {
      columns: last!.deduplicatedColumnNames(),
      types: last!.columnTypes().map((t) => t.toString()),
      rows: last!.getRowsJson() as JsonValue[][],
    };
  } catch (e) {
    if (clock.expired) {
      throw new QueryTimeoutError(
        `the query ran longer than its time limit of ${formatMs(limits.statedMs ?? limits.timeoutMs)} and was stopped: narrow it (WHERE, LIMIT) or allow more time (ferry query --timeout; the running ferry's --query-timeout)`,
        { cause: e },
      );
    }
    if (e instanceof FerryError) throw e;
    throw new DownstreamError("duckdb", errorMessage(e).replace(/^Failed to extract statements: /, ""), { cause: e });
  } finally {
    clock.stop();
    for (const p of prepared) p.destroySync();
    // Nothing of the query outlives it: its transaction ends here (it wrote nothing).
    if (begun) await conn.run("ROLLBACK").catch(() => {});
  }
}

/**
 * The first gate, by parsing alone: DuckDB's parser serializes SELECTs only (json_serialize_sql).
 * Nothing is bound before it passes — binding is not free of effects: preparing EXPORT DATABASE
 * creates its folder, preparing CREATE SECRET loads an extension. EXPLAIN is a read when what
 * follows it is. A syntax error goes on to DuckDB's own message.
 */
async function parsedAsReads(conn: DuckDBConnection, sql: string): Promise<void> {
  const body = sql.replace(/^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*explain\s+(?:analyze\s+)?/i, "");
  const reader = await conn.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [body]);
  const parsed = JSON.parse(String(reader.getRowsJson()[0]![0])) as { error: boolean; error_type?: string };
  if (parsed.error && parsed.error_type !== "parser") {
    throw new QueryRefusedError(`refused: queries may only read (${READS}), and this SQL holds another kind of statement (a write, a setting, a transaction, ATTACH, COPY, PRAGMA, …); nothing was run`);
  }
}

export const formatMs = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/**
 * Interrupts the connection once `ms` have passed, and again every 50 ms until stop(): an
 * interrupt that lands between two calls is forgotten by the next one, so it is repeated.
 */
function timeLimit(conn: DuckDBConnection, ms: number) {
  let expired = false;
  let again: ReturnType<typeof setInterval> | undefined;
  const timer = setTimeout(() => {
    expired = true;
    conn.interrupt();
    again = setInterval(() => conn.interrupt(), 50);
  }, ms);
  const check = () => {
    if (expired) throw new Error("time limit reached");
  };
  return {
    get expired() {
      return expired;
    },
    async run<T>(f: () => Promise<T>): Promise<T> {
      check();
      const r = await f();
      check();
      return r;
    },
    stop() {
      clearTimeout(timer);
      clearInterval(again);
    },
  };
}
