/**
 * The `orders` table: upsert by order_id (a later offset wins), in the same DuckDB transaction as
 * the `ferry_offsets` rows that say how far each source partition has been applied.
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

/** Upserts rows (the latest offset of each order_id wins) and records offsets, in the open transaction. */
export async function upsertOrders(db: Db, rows: readonly OrderRow[], offsets: readonly PartitionOffset[]): Promise<void> {
  if (rows.length > 0) await db.exec(upsertOrdersSql(ORDER_ROWS.rowsFromJson), [JSON.stringify(rows)]);
  await saveOffsets(db, offsets);
}

/** Every stored offset: the next offset to read, by topic and partition. */
export async function allStoredOffsets(db: Db): Promise<PartitionOffset[]> {
  const r = await db.query(`SELECT "topic", "partition", next_offset FROM ferry_offsets`);
  return r.rows.map(([t, p, n]) => ({ topic: String(t), partition: Number(p), nextOffset: Number(n) }));
}

export async function storedOffsets(db: Db, topic: string): Promise<Map<number, number>> {
  const all = await allStoredOffsets(db);
  return new Map(all.filter((o) => o.topic === topic).map((o) => [o.partition, o.nextOffset]));
}
