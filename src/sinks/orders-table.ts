/**
 * The `orders` table: upsert by order_id (a later offset wins), in the same DuckDB transaction as
 * the `ferry_offsets` rows that say how far each source partition has been applied.
 */
import type { Db } from "../db/duckdb.ts";
import type { ReceivedOrder } from "../schema/order.ts";
import { OFFSETS_TABLE_DDL, ORDERS_TABLE_DDL, unkeyedOrdersTableDdl } from "../schema/orders-table.ts";
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

/**
 * The sink's `orders`: a view over a table without an index. DuckDB's primary-key index has to
 * stay in memory while rows are added (measured: ~23 bytes per order id; a sink with 256 MB for
 * DuckDB failed at ~11 million ids, one with 128 MB at ~3 million), so a sink keyed that way could
 * not run in bounded memory. Instead, batches are appended to `orders_rows`, and their ids to
 * `orders_recent_ids`. The view shows each order id once: an id not recent has one row; a recent
 * id shows its latest row (latest received, then highest offset). Now and then the recent ids are
 * settled: one transaction deletes the rows they superseded and forgets them — one pass over the
 * ids of `orders_rows` per settling, and settlings come further apart as it grows (settleDue),
 * so a row's share of that work stays the same; rows are never copied.
 */
export const SINK_ORDERS = { rows: "orders_rows", recentIds: "orders_recent_ids" } as const;

/**
 * Settle when the recent ids reach this share of all rows, but at least SETTLE_MIN_ROWS and at
 * most SETTLE_MAX_ROWS: the view's queries work over the recent ids' rows, so they are capped (the
 * settling's own memory is bounded by its slices, SETTLE_SLICE_IDS); past 12 million rows the
 * settlings' share of the work grows slowly (two passes over all ids per 1–1.5 million new ones).
 */
export const SETTLE_MIN_ROWS = 1_000_000;
export const SETTLE_MAX_ROWS = 1_500_000;
export const SETTLE_SHARE = 1 / 8;

/**
 * Rows are matched to recent ids by hash(order_id): the hash tables of these joins hold 8-byte
 * numbers, not the ids (a few MB per million, where the ids took ~60 MB and a sink with 128 MB for
 * DuckDB ran out of memory). A row of another id with the same hash is harmless: the window below
 * partitions by the id itself, and an id with one row keeps it.
 */
const RECENT = `SELECT hash(order_id) FROM ${SINK_ORDERS.recentIds}`;
const LATEST_FIRST = "row_number() OVER (PARTITION BY order_id ORDER BY ingested_at DESC, kafka_offset DESC)";

export async function createSinkOrdersTables(db: Db): Promise<void> {
  await db.exec(unkeyedOrdersTableDdl(SINK_ORDERS.rows));
  await db.exec(`CREATE TABLE IF NOT EXISTS ${SINK_ORDERS.recentIds} (order_id VARCHAR NOT NULL)`);
  await db.exec(OFFSETS_TABLE_DDL);
  // A data dir of an earlier ferry holds `orders` as a keyed table: its rows (one per id) move over.
  const old = await db.query(`SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'orders'`);
  if (old.rows[0]?.[0] === "BASE TABLE") {
    await db.transaction(async () => {
      await db.exec(`INSERT INTO ${SINK_ORDERS.rows} SELECT * FROM orders`);
      await db.exec(`DROP TABLE orders`);
    });
  }
  await db.exec(
    `CREATE OR REPLACE VIEW orders AS SELECT * FROM ${SINK_ORDERS.rows} WHERE hash(order_id) NOT IN (${RECENT}) ` +
      `UNION ALL SELECT * FROM (SELECT * FROM ${SINK_ORDERS.rows} WHERE hash(order_id) IN (${RECENT}) QUALIFY ${LATEST_FIRST} = 1)`,
  );
}

/** Appends the rows of `selectSql` (orders columns) and notes their ids as recent. */
export async function appendOrders(db: Db, selectSql: string): Promise<void> {
  await db.exec(`INSERT INTO ${SINK_ORDERS.rows} ${selectSql}`);
  await db.exec(`INSERT INTO ${SINK_ORDERS.recentIds} SELECT order_id FROM (${selectSql})`);
}

/**
 * Recent ids settled per pass: a pass's hash tables grow with its ids (~70 bytes each at the peak),
 * so more recent ids are settled in slices of hash(order_id), one pass over the rows each
 * (measured at 10M rows, 1.5M recent ids: one pass 1.0–1.1 s and +80–113 MB; two slices 1.6 s and
 * +52 MB).
 */
export const SETTLE_SLICE_IDS = 750_000;

/**
 * Deletes the rows the recent ids superseded and forgets those ids, in one transaction; answers
 * the row count. Per slice of hash(order_id): first the hashes that have more than one row
 * (usually none), then the window over the rows of those only.
 */
export async function settleRecentOrders(db: Db, recentIds: number, sliceIds = SETTLE_SLICE_IDS): Promise<number> {
  const slices = Math.max(1, Math.ceil(recentIds / sliceIds));
  return db.transaction(async () => {
    for (let slice = 0; slice < slices; slice++) {
      const inSlice = slices === 1 ? "true" : `hash(order_id) % ${slices} = ${slice}`;
      const recent = `SELECT hash(order_id) FROM ${SINK_ORDERS.recentIds} WHERE ${inSlice}`;
      const repeated = `SELECT hash(order_id) FROM ${SINK_ORDERS.rows} WHERE ${inSlice} AND hash(order_id) IN (${recent}) GROUP BY 1 HAVING count(*) > 1`;
      await db.exec(
        `DELETE FROM ${SINK_ORDERS.rows} WHERE rowid IN (SELECT rowid FROM ${SINK_ORDERS.rows} WHERE hash(order_id) IN (${repeated}) QUALIFY ${LATEST_FIRST} > 1)`,
      );
    }
    await db.exec(`DELETE FROM ${SINK_ORDERS.recentIds}`);
    return Number((await db.query(`SELECT count(*) FROM ${SINK_ORDERS.rows}`)).rows[0]![0]);
  });
}

/** Counts of recent ids and of all rows. */
export async function sinkOrderCounts(db: Db): Promise<{ recent: number; rows: number }> {
  const r = await db.query(`SELECT (SELECT count(*) FROM ${SINK_ORDERS.recentIds}), (SELECT count(*) FROM ${SINK_ORDERS.rows})`);
  return { recent: Number(r.rows[0]![0]), rows: Number(r.rows[0]![1]) };
}

export const settleDue = (c: { recent: number; rows: number }, minRows = SETTLE_MIN_ROWS) =>
  c.recent >= Math.min(Math.max(minRows, SETTLE_MAX_ROWS), Math.max(minRows, c.rows * SETTLE_SHARE));
