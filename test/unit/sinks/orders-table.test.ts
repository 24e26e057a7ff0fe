import { expect, test } from "bun:test";
import { openDb } from "../../../src/db/duckdb.ts";
import { appendOrders, createSinkOrdersTables, settleRecentOrders, SINK_ORDERS } from "../../../src/sinks/orders-table.ts";

/** Orders at offsets from..to; ids repeat (offset % 13), within a batch and across batches. */
const rowsOf = (from: number, to: number, ingestedAt: string) =>
  `SELECT 'o-' || (n % 13) AS order_id, 'p' AS product, 1 AS quantity, 1.5 AS price, NULL AS customer_id, ` +
  `TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ordered_at, 't' AS kafka_topic, 0 AS kafka_partition, n AS kafka_offset, ` +
  `TIMESTAMPTZ '${ingestedAt}' AS ingested_at FROM range(${from}, ${to + 1}) r(n)`;

for (const sliceIds of [1_000_000, 7, 2]) {
  test(`settling (${sliceIds} ids per slice) keeps the view as it was and leaves one row per id`, async () => {
    const db = await openDb(":memory:");
    await createSinkOrdersTables(db);
    await appendOrders(db, rowsOf(0, 29, "2026-01-01 00:00:01+00"));
    await appendOrders(db, rowsOf(30, 49, "2026-01-01 00:00:02+00"));
    const view = async () => (await db.query("SELECT order_id, kafka_offset::INT FROM orders ORDER BY order_id")).rows;
    const before = await view();
    expect(before.length).toBe(13);
    expect(before).toContainEqual(["o-0", 39]); // the latest batch wins, then the highest offset
    expect(await settleRecentOrders(db, 50, sliceIds)).toBe(13);
    expect(await view()).toEqual(before);
    expect((await db.query(`SELECT count(*)::INT FROM ${SINK_ORDERS.recentIds}`)).rows[0]).toEqual([0]);
    expect((await db.query(`SELECT count(*)::INT, count(DISTINCT order_id)::INT FROM ${SINK_ORDERS.rows}`)).rows[0]).toEqual([13, 13]);
    db.close();
  });
}
