/**
 * `ferry run`'s local `orders` table (in <data-dir>/ferry.duckdb): upsert by order_id (a later
 * offset wins), in the same DuckDB transaction as the `ferry_offsets` row that says how far the
 * run's sequence has been applied. (The sinks' `orders` is a view of the catalog's lake:
 * src/lake/tables.ts.)
 */
import type { Db } from "../db/duckdb.ts";
import type { ReceivedOrder } from "../schema/order.ts";
import { OFFSETS_TABLE_DDL, ORDERS_TABLE_DDL } from "../schema/orders-table.ts";
import { rowLayout } from "./record-rows.ts";

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

export const ORDER_ROWS = rowLayout("orders");

/** Upserts the rows of `selectSql` (orders columns); the latest offset of each order_id wins. */
export const upsertOrdersSql = (selectSql: string) =>
  `INSERT OR REPLACE INTO orders ${selectSql} QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY kafka_offset DESC) = 1`;

export async function saveOffsets(db: Db, offsets: readonly PartitionOffset[]): Promise<void> {
  if (offsets.length === 0) return;
  const rows = offsets.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(", ");
  await db.exec(`INSERT OR REPLACE INTO ferry_offsets VALUES ${rows}`, offsets.flatMap((o) => [o.topic, o.partition, o.nextOffset]));
}

export async function createOrdersTables(db: Db): Promise<void> {
  await db.exec(ORDERS_TABLE_DDL);
  await db.exec(OFFSETS_TABLE_DDL);
}

/** A topic's stored offsets: the next offset to read, by partition. */
export async function storedOffsets(db: Db, topic: string): Promise<Map<number, number>> {
  const r = await db.query(`SELECT "partition", next_offset FROM ferry_offsets WHERE "topic" = $1`, [topic]);
  return new Map(r.rows.map(([p, n]) => [Number(p), Number(n)]));
}
