/** The embedded sink's lake rollup: exactly once, also when a rollup was cut short by a crash. */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataPaths, openDb, queryWithLake, sqlString } from "../../../src/db/duckdb.ts";
import { openEmbeddedOrderSink, RUN_TOPIC } from "../../../src/sinks/embedded-orders.ts";
import { openWriteAheadLog } from "../../../src/sinks/write-ahead-log.ts";
import { UnavailableError } from "../../../src/pipeline/errors.ts";
import { faultyFiles } from "../../helpers/faulty-file.ts";
import { listLakeFiles } from "../../../src/sinks/lake.ts";
import { ORDER_ROWS } from "../../../src/sinks/orders-table.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const orders = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ order_id: `o${from + i}`, product: "p", quantity: 1, price: 1.25, ordered_at: (from + i) % 2 ? "2026-05-01T12:00:00Z" : "2026-05-02T12:00:00Z" }));
const opts = (dataDir: string) => ({ dataDir, rollupIntervalMs: 3_600_000, lingerMs: 0, maxBatchRecords: 1000 });

async function lake(dataDir: string) {
  const db = await openDb(":memory:");
  try {
    const r = await queryWithLake(db, dataPaths(dataDir).lake, "select count(*), count(distinct kafka_offset), min(kafka_offset), max(kafka_offset) from lake", ORDER_ROWS.emptyLake);
    return r.rows[0]!.map(Number);
  } finally {
    db.close();
  }
}

test("every accepted record reaches the lake once, across restarts", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-embedded-"));
  const { log } = memoryLogger();
  for (const from of [0, 10, 20]) {
    const sink = await openEmbeddedOrderSink(opts(dataDir), log);
    await sink.write(orders(10, from));
    expect(await sink.rollup()).toBe(10);
    expect(await sink.rollup()).toBe(0); // nothing left: no empty or repeated files
    await sink.close();
  }
  expect(await lake(dataDir)).toEqual([30, 30, 0, 29]);
  expect(listLakeFiles(dataPaths(dataDir).lake, RUN_TOPIC)).toHaveLength(6);
});

test("a rollup cut short after its first file is redone exactly on the next start", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-embedded-"));
  const { log, lines } = memoryLogger("notice");
  const sink = await openEmbeddedOrderSink(opts(dataDir), log);
  await sink.write(orders(10));
  await sink.write(orders(5, 10));
  await sink.close(); // rollup [0, 14]: one file per date
  const files = listLakeFiles(dataPaths(dataDir).lake, RUN_TOPIC);
  expect(files.map((f) => [f.date, f.firstOffset, f.lastOffset])).toEqual([
    ["2026-05-01", 0, 14],
    ["2026-05-02", 0, 14],
  ]);

  // Rebuild the state of a crash inside that rollup: its rows still in the journal, only the
  // first date's file renamed into place.
  const db = await openDb(dataPaths(dataDir).database);
  const all = files.map((f) => sqlString(f.path)).join(", ");
  await db.exec(`INSERT INTO ferry_journal SELECT order_id, product, quantity, price, customer_id, ordered_at, '${RUN_TOPIC}', kafka_partition, kafka_offset, ingested_at FROM read_parquet([${all}], hive_partitioning = false)`);
  db.close();
  rmSync(files[1]!.path);
  expect(await lake(dataDir)).toEqual([7, 7, 1, 13]);

  const again = await openEmbeddedOrderSink(opts(dataDir), log);
  expect(await again.rollup()).toBe(0); // recovery emptied the journal
  await again.write(orders(1, 15));
  await again.close();
  expect(await lake(dataDir)).toEqual([16, 16, 0, 15]);
  expect(lines.some((l) => l.includes("redid an interrupted lake rollup"))).toBe(true);
});

/**
 * Defense in depth: a record the table refuses (here one the schema would refuse at the edge,
 * handed to the sink directly) is quarantined whole with the reason; the rest of its batch and
 * every batch after it are applied, and the sink starts again.
 */
test("a record the table refuses is quarantined with its reason; the others are applied; ferry starts again", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-embedded-"));
  const { log, lines } = memoryLogger("warn");
  const bad = { order_id: "bad", product: "\ud800", quantity: 1, price: 1, ordered_at: "2026-05-01T12:00:00Z" };
  const sink = await openEmbeddedOrderSink(opts(dataDir), log);
  await sink.write([...orders(3), bad, ...orders(3, 3)]);
  await sink.write(orders(2, 6));
  const table = await sink.query("select count(*) from orders");
  expect(table.rows[0]!.map(Number)).toEqual([8]);
  const q = await sink.query("select seq, reason, record from rejected");
  expect(q.rows.length).toBe(1);
  expect(Number(q.rows[0]![0])).toBe(3);
  expect(String(q.rows[0]![1])).toMatch(/^the database refused the record: .*surrogate/);
  expect(JSON.parse(String(q.rows[0]![2]))).toMatchObject(bad); // whole and unchanged (lineage beside it)
  await sink.close();
  expect(await lake(dataDir)).toEqual([8, 8, 0, 8]);
  expect(lines.some((l) => l.includes("moved to the quarantine"))).toBe(true);

  const db = await openDb(dataPaths(dataDir).database);
  const before = Number((await db.query("select count(*) from rejected")).rows[0]![0]);
  db.close();
  expect(before).toBe(1);
  const again = await openEmbeddedOrderSink(opts(dataDir), log);
  await again.write([{ ...bad, order_id: "bad2" }, ...orders(1, 9)]);
  await again.close();
  const third = await openEmbeddedOrderSink(opts(dataDir), log);
  expect((await third.query("select count(*) from rejected")).rows[0]!.map(Number)).toEqual([2]);
  expect((await third.query("select count(*) from orders")).rows[0]!.map(Number)).toEqual([9]);
  await third.close();
});

test("a refused record still in the write-ahead log at start (a crash before it was applied) is quarantined: ferry starts, the orders around it are applied", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-embedded-"));
  const { log } = memoryLogger("warn");
  await (await openEmbeddedOrderSink(opts(dataDir), log)).close();
  // Acknowledged before the crash: three rows in one frame, the middle one a row DuckDB refuses.
  const row = (seq: number, product: string) =>
    JSON.stringify({ order_id: `w${seq}`, product, quantity: 1, price: 1, ordered_at: "2026-05-01T12:00:00Z", kafka_topic: RUN_TOPIC, kafka_partition: 0, kafka_offset: seq, ingested_at: "2026-05-01T12:00:01Z" });
  const wal = await openWriteAheadLog(dataPaths(dataDir).wal);
  await wal.append(Buffer.from([row(0, "a"), row(1, "\ud800"), row(2, "c")].join("\n")), 0, 3);
  await wal.close();
  const sink = await openEmbeddedOrderSink(opts(dataDir), log);
  expect((await sink.query("select list(order_id order by order_id) from orders")).rows[0]![0]).toEqual(["w0", "w2"]);
  expect((await sink.query("select seq::INT, record from rejected")).rows).toEqual([[1, row(1, "\ud800")]]);
  await sink.write(orders(1, 3)); // and takes orders after it
  await sink.close();
  expect(await lake(dataDir)).toEqual([3, 3, 0, 3]);
});

test("a sequence is handed out once: the orders of a failed append (503) never share sequences with later ones", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-embedded-"));
  const { log } = memoryLogger("error");
  const files = faultyFiles();
  const sink = await openEmbeddedOrderSink({ ...opts(dataDir), walFiles: files.open }, log);
  await sink.write(orders(2));
  files.plan({ op: "write", kind: "EIO" });
  await expect(sink.write(orders(2, 100))).rejects.toBeInstanceOf(UnavailableError);
  await sink.write(orders(2, 2));
  const rows = await sink.query("select order_id, kafka_offset::INT from orders order by kafka_offset");
  expect(rows.rows).toEqual([
    ["o0", 0],
    ["o1", 1],
    ["o2", 4],
    ["o3", 5],
  ]);
  await sink.close();
  expect(await lake(dataDir)).toEqual([4, 4, 0, 5]);
});
