/**
 * Rows the database refuses for a reason of their own (text DuckDB will not read, a value it will
 * not convert), found in a batch it refused, so that one record never blocks the rest: `ferry run`
 * quarantines them, `ferry sink` dead-letters them, and both go on with the other rows.
 *
 * Nothing is paid on the good path: the search runs only after a batch failed with an error of
 * the kinds a row can cause. It bisects: a half that the database takes holds no refused row; a
 * single row it refuses is one. A batch that fails while no single row does (a full disk, memory)
 * has no refused rows: the caller's error stands, and the batch is retried as before.
 */
import { rmSync, writeFileSync } from "node:fs";
import type { Db } from "../db/duckdb.ts";
import { DownstreamError, errorMessage } from "../errors.ts";

/** DuckDB's errors that a row's content can cause (not I/O, memory or a closed database). */
const ROW_ERRORS = /\b(Invalid Input|Conversion|Out of Range|Constraint) Error\b/;

/** True when a batch's failure may be the fault of some of its rows. */
export function mayBeRowFault(e: unknown): boolean {
  return e instanceof DownstreamError && e.system === "duckdb" && ROW_ERRORS.test(e.message);
}

export interface RefusedRow {
  /** The row's index in the batch. */
  index: number;
  /** DuckDB's reason, without the names of ferry's own files. */
  reason: string;
}

/**
 * The rows of `rows` that `probe` refuses on their own. `probe` loads the rows it is given the
 * way the real write does (and throws what the database says); it must leave nothing behind.
 * Visits O(k log n) subsets for k refused rows among n.
 */
export async function findRefusedRows<T>(rows: readonly T[], probe: (rows: readonly T[]) => Promise<void>): Promise<RefusedRow[]> {
  const refused: RefusedRow[] = [];
  async function search(from: number, to: number): Promise<void> {
    if (from >= to) return;
    try {
      await probe(rows.slice(from, to));
      return;
    } catch (e) {
      if (!mayBeRowFault(e)) throw e;
      if (to - from === 1) {
        refused.push({ index: from, reason: refusalReason(e) });
        return;
      }
    }
    const mid = from + Math.ceil((to - from) / 2);
    await search(from, mid);
    await search(mid, to);
  }
  await search(0, rows.length);
  return refused;
}

/**
 * findRefusedRows for rows of newline-delimited JSON that `select(file)` loads: each subset is
 * written to `file` and materialized in a temporary table of `db` (dropped again), the way the real
 * write reads them; the file is removed at the end, whatever happens.
 */
export async function findRefusedLines(db: Db, lines: readonly (string | Buffer)[], file: string, select: (file: string) => string): Promise<RefusedRow[]> {
  try {
    return await findRefusedRows(lines, async (some) => {
      writeFileSync(file, Buffer.concat(some.flatMap((l) => [typeof l === "string" ? Buffer.from(l) : l, NEWLINE])));
      await db.exec(`CREATE OR REPLACE TEMP TABLE ferry_probe AS ${select(file)}`);
      await db.exec("DROP TABLE ferry_probe");
    });
  } finally {
    rmSync(file, { force: true });
  }
}
const NEWLINE = Buffer.from("\n");

/** DuckDB's message about one row, without the file it read it from (a file of ferry's own) or where in it. */
export function refusalReason(e: unknown): string {
  const message = errorMessage(e)
    .replace(/^duckdb: /, "")
    .replace(/ in file "[^"]*"/, "")
    .replace(/,? at byte \d+ in line \d+/, "")
    .replace(/,? in line \d+/, "")
    .trim();
  return `the database refused the record: ${message.length > 500 ? `${message.slice(0, 497)}...` : message}`;
}
