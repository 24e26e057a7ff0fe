/**
 * `ferry run`'s sink: orders go straight into the `orders` table of <data-dir>/ferry.duckdb
 * (upsert by order_id), committed before the client gets its 202, and every accepted record is
 * kept in a journal that is rolled into the Parquet lake every interval and on shutdown.
 * Lineage: topic "orders", partition 0, and ferry's own sequence as the offset.
 * A rollup of the journal range [first, last] names every file it writes by that range, so after
 * a crash the lake's file names say which rollup was cut short, and it is redone exactly.
 */
import { createMutex, dataPaths, openDb, type QueryResult, queryWithLake, sqlString } from "../db/duckdb.ts";
import type { Logger } from "../log/logger.ts";
import { Coalescer, type FlushObserver } from "../pipeline/coalescer.ts";
import type { OrderSink } from "../pipeline/record-sink.ts";
import type { ReceivedOrder } from "../schema/order.ts";
import { lakeStaging, listLakeFiles, writeLakeFiles } from "./lake.ts";
import { createOrdersTables, ORDER_ROWS, type OrderRow, storedOffsets, upsertOrders } from "./orders-table.ts";

export const RUN_TOPIC = "orders";
const PARTITION = 0;
const { lakeColumns: LAKE_COLUMNS, lakeDate: LAKE_DATE_SQL, rowsFromJson: ROWS_FROM_JSON } = ORDER_ROWS;

export interface EmbeddedOrderSinkOptions {
  dataDir: string;
  rollupIntervalMs: number;
  lingerMs: number;
  maxBatchRecords: number;
  onFlush?: FlushObserver;
}

export interface EmbeddedOrderSink extends OrderSink {
  /** Runs SQL on the open database, with the lake view (for `ferry query` while `ferry run` holds the file). */
  query(sql: string): Promise<QueryResult>;
  /** Rolls the journal into the lake now; resolves with the number of rows written. */
  rollup(): Promise<number>;
}

export async function openEmbeddedOrderSink(opts: EmbeddedOrderSinkOptions, log: Logger): Promise<EmbeddedOrderSink> {
  const paths = dataPaths(opts.dataDir);
  const db = await openDb(paths.database);
  const exclusive = createMutex();
  await createOrdersTables(db);
  await db.exec(`CREATE TABLE IF NOT EXISTS ferry_journal AS SELECT * FROM orders LIMIT 0`);
  let nextSeq = (await storedOffsets(db, RUN_TOPIC)).get(PARTITION) ?? 0;

  const staging = lakeStaging(opts.dataDir);

  /** Writes journal rows of [first, last] to the lake (one file per date), then drops them. */
  async function rollRange(first: number, last: number): Promise<number> {
    const where = `kafka_offset BETWEEN ${first} AND ${last}`;
    const select = `SELECT ${LAKE_COLUMNS}, ${sqlString(RUN_TOPIC)} AS __t, ${PARTITION} AS __p, ${LAKE_DATE_SQL} AS __d FROM ferry_journal WHERE ${where} ORDER BY kafka_offset`;
    await writeLakeFiles(db, paths.lake, staging, select, () => ({ firstOffset: first, lastOffset: last }));
    const n = await db.query(`SELECT count(*) FROM ferry_journal WHERE ${where}`);
    await db.exec(`DELETE FROM ferry_journal WHERE kafka_offset <= ${last}`);
    return Number(n.rows[0]![0]);
  }

  // Recovery: a rollup whose files exist while its rows are still in the journal was cut short.
  const journal = await db.query(`SELECT min(kafka_offset), max(kafka_offset) FROM ferry_journal`);
  const journalMin = journal.rows[0]![0] === null ? undefined : Number(journal.rows[0]![0]);
  if (journalMin !== undefined) {
    const ranges = new Map<number, number>();
    for (const f of listLakeFiles(paths.lake, RUN_TOPIC)) if (f.partition === PARTITION && f.lastOffset >= journalMin) ranges.set(f.firstOffset, f.lastOffset);
    for (const [first, last] of [...ranges].sort((a, b) => a[0] - b[0])) {
      const rows = await rollRange(first, last);
      log.notice("redid an interrupted lake rollup", { first, last, rows });
    }
  }

  const coalescer = new Coalescer<ReceivedOrder>({
    maxItems: opts.maxBatchRecords,
    lingerMs: opts.lingerMs,
    maxInFlight: 1,
    onFlush: opts.onFlush,
    flush: (orders) =>
      exclusive(async () => {
        const ingestedAt = new Date().toISOString();
        const rows: OrderRow[] = orders.map((o, i) => ({ ...o, kafka_topic: RUN_TOPIC, kafka_partition: PARTITION, kafka_offset: nextSeq + i, ingested_at: ingestedAt }));
        await db.transaction(async () => {
          await db.exec(`INSERT INTO ferry_journal ${ROWS_FROM_JSON}`, [JSON.stringify(rows)]);
          await upsertOrders(db, rows, [{ topic: RUN_TOPIC, partition: PARTITION, nextOffset: nextSeq + rows.length }]);
        });
        nextSeq += rows.length;
      }),
  });

  const rollup = () =>
    exclusive(async () => {
      const r = await db.query(`SELECT min(kafka_offset), max(kafka_offset) FROM ferry_journal`);
      if (r.rows[0]![0] === null) return 0;
      const rows = await rollRange(Number(r.rows[0]![0]), Number(r.rows[0]![1]));
      log.info("rolled journal into the lake", { rows });
      return rows;
    });

  const timer = setInterval(() => {
    rollup().catch((e) => log.error("lake rollup failed; rows stay in the journal and are retried", { error: e }));
  }, opts.rollupIntervalMs);

  return {
    ready: () => true,
    write: (orders) => coalescer.submit(orders),
    query: (sql) => exclusive(() => queryWithLake(db, paths.lake, sql, ORDER_ROWS.emptyLake)),
    rollup,
    async close() {
      clearInterval(timer);
      await coalescer.drain();
      await rollup();
      await exclusive(async () => db.close());
    },
  };
}
