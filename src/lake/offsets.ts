/**
 * The offsets in the catalog: per topic and partition, the next offset to read, moved by the same
 * catalog transaction that adds the batch's rows to the lake. One table per partition
 * (`ferry_offsets."<topic>/<partition>"`): DuckLake detects write conflicts per table, so members
 * holding different partitions commit side by side, while two writers of one partition (a member
 * that lost it and woke up late: a zombie) conflict — and a move checks the offset it starts from,
 * so a writer that read the partition's position before another moved it fails too. Either way
 * its transaction writes nothing.
 */
import { type Db, sqlString } from "../db/duckdb.ts";
import { errorMessage, FerryError } from "../errors.ts";
import { quoteIdent } from "../schema/ddl.ts";
import { LAKE_DB } from "./catalog.ts";

export const OFFSETS_SCHEMA = "ferry_offsets";

/** A partition's move in a batch: from the offset this writer holds to the one past the batch. */
export interface OffsetMove {
  topic: string;
  partition: number;
  /** The next offset as this writer knows it (undefined: the partition is new to the lake). */
  from: number | undefined;
  to: number;
}

/** This writer no longer holds a partition: another moved its offsets (the batch wrote nothing). */
export class FencedError extends FerryError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The fence of a move whose partition another writer moved on (to `there`, by `by` when known). */
export const movedOn = (m: OffsetMove, there: unknown, by?: string) =>
  new FencedError(m.topic, m.partition, `partition ${m.topic}/${m.partition} moved on in the lake (to offset ${there}${by === undefined ? "" : `, by ${by}`}) while this writer held offset ${m.from}: another member holds it now`);

const tableName = (topic: string, partition: number) => `${topic}/${partition}`;
const tableRef = (topic: string, partition: number) => `${LAKE_DB}.${OFFSETS_SCHEMA}.${quoteIdent(tableName(topic, partition))}`;

export async function createOffsetsSchema(db: Db): Promise<void> {
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${LAKE_DB}.${OFFSETS_SCHEMA}`);
}

/** Every partition's next offset in the catalog, by "topic/partition". */
export async function readOffsets(db: Db): Promise<Map<string, number>> {
  const tables = await db.query(`SELECT table_name FROM duckdb_tables() WHERE database_name = $1 AND schema_name = $2`, [LAKE_DB, OFFSETS_SCHEMA]);
  const names = tables.rows.map((r) => String(r[0])).filter((n) => /^.+\/\d+$/.test(n));
  const out = new Map<string, number>();
  if (names.length === 0) return out;
  const union = names.map((n) => `SELECT ${sqlString(n)} AS tp, max(next_offset) AS next FROM ${LAKE_DB}.${OFFSETS_SCHEMA}.${quoteIdent(n)}`).join(" UNION ALL ");
  for (const [tp, next] of (await db.query(union)).rows) if (next !== null) out.set(String(tp), Number(next));
  return out;
}

/** One partition's next offset and the writer that moved it last (undefined: the partition is new to the lake). */
export async function readOffset(db: Db, topic: string, partition: number): Promise<{ next: number; writer: string } | undefined> {
  const t = await db.query(`SELECT count(*) FROM duckdb_tables() WHERE database_name = $1 AND schema_name = $2 AND table_name = $3`, [LAKE_DB, OFFSETS_SCHEMA, tableName(topic, partition)]);
  if (Number(t.rows[0]![0]) === 0) return undefined;
  const r = await db.query(`SELECT next_offset, writer FROM ${tableRef(topic, partition)} ORDER BY next_offset DESC LIMIT 1`);
  const row = r.rows[0];
  return row === undefined ? undefined : { next: Number(row[0]), writer: String(row[1]) };
}

/**
 * Moves the offsets, in the open transaction: a partition new to the lake gets its table; any
 * other moves only from the offset this writer holds (FencedError otherwise). Two writers moving
 * one partition at once conflict at COMMIT (see commitBatch).
 */
export async function moveOffsets(db: Db, moves: readonly OffsetMove[], writer: string): Promise<void> {
  for (const m of moves) {
    const t = tableRef(m.topic, m.partition);
    if (m.from === undefined) {
      await db.exec(`CREATE TABLE ${t} (next_offset BIGINT NOT NULL, writer VARCHAR NOT NULL, committed_at TIMESTAMPTZ NOT NULL)`).catch((e: unknown) => {
        // Only a table made meanwhile is a fence; anything else (the catalog's server gone) is the error it is.
        if (!/already exists/i.test(errorMessage(e))) throw e;
        throw new FencedError(m.topic, m.partition, `partition ${m.topic}/${m.partition} was started in the lake by another writer meanwhile`, { cause: e });
      });
      await db.exec(`INSERT INTO ${t} VALUES ($1, $2, now())`, [m.to, writer]);
      continue;
    }
    const r = await db.query(`UPDATE ${t} SET next_offset = $1, writer = $2, committed_at = now() WHERE next_offset = $3`, [m.to, writer, m.from]);
    if (Number(r.rows[0]?.[0] ?? 0) !== 1) {
      const now = await db.query(`SELECT max(next_offset) FROM ${t}`);
      throw movedOn(m, now.rows[0]?.[0]);
    }
  }
}
