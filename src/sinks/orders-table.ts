/**
 * The `orders` table: upsert by order_id (a later offset wins), in the same DuckDB transaction as
 * the `ferry_offsets` rows that say how far each source partition has been applied.
 */
import type { Db } from "../db/duckdb.ts";
import { columnsOf, quoteIdent } from "../schema/ddl.ts";
import { OrderSchema, type ReceivedOrder } from "../schema/order.ts";
import { LINEAGE_COLUMNS, OFFSETS_TABLE_DDL, ORDERS_TABLE_DDL } from "../schema/orders-table.ts";

/** An order with where it came from. */
export interface OrderRow extends ReceivedOrder {
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: number;
  ingested_at: string;
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  nextOffset: number;
}

const COLUMNS = [...columnsOf(OrderSchema), ...LINEAGE_COLUMNS];
/** The column list, and the JSON structure DuckDB's from_json decodes a batch with (types from the schema). */
export const ORDER_ROW_COLUMNS = COLUMNS.map((c) => quoteIdent(c.name)).join(", ");
const STRUCTURE = JSON.stringify([Object.fromEntries(COLUMNS.map((c) => [c.name, c.sql.replace(/\s+(PRIMARY KEY|NOT NULL)/g, "")]))]);

/** SQL that turns parameter $1 (a JSON array of OrderRow) into rows of the orders columns. */
export const ROWS_FROM_JSON = `SELECT ${ORDER_ROW_COLUMNS} FROM (SELECT unnest(from_json($1::JSON, '${STRUCTURE}'), recursive := true))`;

export async function createOrdersTables(db: Db): Promise<void> {
  await db.exec(ORDERS_TABLE_DDL);
  await db.exec(OFFSETS_TABLE_DDL);
}

/** Upserts rows (the latest offset of each order_id wins) and records offsets, in the open transaction. */
export async function upsertOrders(db: Db, rows: readonly OrderRow[], offsets: readonly PartitionOffset[]): Promise<void> {
  if (rows.length > 0) {
    await db.exec(
      `INSERT OR REPLACE INTO orders ${ROWS_FROM_JSON} QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY kafka_offset DESC) = 1`,
      [JSON.stringify(rows)],
    );
  }
  for (const o of offsets) {
    await db.exec(`INSERT OR REPLACE INTO ferry_offsets VALUES ($1, $2, $3)`, [o.topic, o.partition, o.nextOffset]);
  }
}

export async function storedOffsets(db: Db, topic: string): Promise<Map<number, number>> {
  const r = await db.query(`SELECT "partition", next_offset FROM ferry_offsets WHERE "topic" = $1`, [topic]);
  return new Map(r.rows.map(([p, n]) => [Number(p), Number(n)]));
}
