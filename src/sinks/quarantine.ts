/**
 * `ferry run`'s quarantine: acknowledged orders that the table refused for a reason of their own
 * (see refused-rows.ts), kept whole — the row exactly as it was acknowledged and logged, lineage
 * included — with the reason, in the table `rejected` of ferry.duckdb (`ferry query "select * from
 * rejected"`). Moved there in the same transaction that applies the rest, so none is lost or kept twice.
 */
import type { Db } from "../db/duckdb.ts";

export const QUARANTINE_TABLE = "rejected";

export const QUARANTINE_DDL =
  `CREATE TABLE IF NOT EXISTS ${QUARANTINE_TABLE} (` +
  "seq BIGINT NOT NULL, quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now(), reason VARCHAR NOT NULL, record VARCHAR NOT NULL)";

export interface QuarantinedRow {
  /** The row's sequence (its kafka_offset in the journal and the lake). */
  seq: number;
  reason: string;
  /** The row's JSON text as acknowledged. */
  record: string;
}

/** Adds rows to the quarantine (inside the caller's transaction). */
export async function quarantine(db: Db, rows: readonly QuarantinedRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(", ");
  await db.exec(`INSERT INTO ${QUARANTINE_TABLE} (seq, reason, record) VALUES ${values}`, rows.flatMap((r) => [r.seq, r.reason, r.record]));
}
