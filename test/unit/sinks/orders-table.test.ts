/** `ferry run`'s local orders table: the upsert (the latest offset of an order_id wins) and the offsets beside it. */
import { expect, test } from "bun:test";
import { openDb } from "../../../src/db/duckdb.ts";
import { createOrdersTables, saveOffsets, storedOffsets, upsertOrdersSql } from "../../../src/sinks/orders-table.ts";

/** Orders at offsets from..to; ids repeat (offset % 13), within the rows and across calls. */
const rowsOf = (from: number, to: number) =>
  `SELECT 'o-' || (n % 13) AS order_id, 'p' AS product, n::INTEGER AS quantity, 1.5 AS price, NULL AS customer_id, ` +
  `TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ordered_at, 't' AS kafka_topic, 0 AS kafka_partition, n AS kafka_offset, ` +
  `TIMESTAMPTZ '2026-01-01 00:00:01+00' AS ingested_at FROM range(${from}, ${to + 1}) r(n)`;

test("an order_id given twice in the rows, or already in the table, keeps its latest offset's row", async () => {
  const db = await openDb(":memory:");
  await createOrdersTables(db);
  await db.exec(upsertOrdersSql(rowsOf(0, 29)));
  const table = async () => (await db.query("SELECT order_id, quantity, kafka_offset::INT FROM orders ORDER BY order_id")).rows;
  expect((await table()).length).toBe(13);
  expect(await table()).toContainEqual(["o-0", 26, 26]);
  await db.exec(upsertOrdersSql(rowsOf(30, 34))); // o-4 … o-8 again
  const after = await table();
  expect(after.length).toBe(13);
  expect(after).toContainEqual(["o-4", 30, 30]);
  expect(after).toContainEqual(["o-3", 29, 29]);
  db.close();
});

test("offsets: saved per topic and partition, a later save replacing the earlier", async () => {
  const db = await openDb(":memory:");
  await createOrdersTables(db);
  await saveOffsets(db, [{ topic: "a", partition: 0, nextOffset: 5 }, { topic: "a", partition: 1, nextOffset: 7 }, { topic: "b", partition: 0, nextOffset: 9 }]);
  await saveOffsets(db, [{ topic: "a", partition: 0, nextOffset: 6 }]);
  expect(await storedOffsets(db, "a")).toEqual(new Map([[0, 6], [1, 7]]));
  expect(await storedOffsets(db, "c")).toEqual(new Map());
  db.close();
});
