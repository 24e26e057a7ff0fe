/**
 * ferry's two ways from record text to the stores, run in-process for property tests (no server):
 *  - HTTP (`ferry run`): the ingress app (read-records.ts, the schema) answers; what it accepts is
 *    made into rows the way embedded-orders.ts does (JSON.stringify per row, DuckDB's NDJSON
 *    reader, the journal and the orders upsert), then rolled into lake files (stageLakeFiles,
 *    publishLocal) and read back through the `lake` view.
 *  - Kafka (`ferry sink`): createDecoder's batches (bytes check, JSON.parse + valibot), the rows
 *    loaded the way lake-batches.ts does (tagged NDJSON file, normalizeRows on an Invalid Input
 *    Error), lake files, then the sink's orders table appended from those files.
 * Each path answers what ferry did with every record, and what the stores hold for it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, lakeViewSql, openDb, sqlString } from "../../../src/db/duckdb.ts";
import { createIngress } from "../../../src/http/app.ts";
import { createDecoder, normalizeRows, type SourceRecord } from "../../../src/pipeline/decode.ts";
import type { OrderSink } from "../../../src/pipeline/record-sink.ts";
import type { ReceivedOrder } from "../../../src/schema/order.ts";
import { listLakeFiles, publishLocal, stageLakeFiles } from "../../../src/sinks/lake.ts";
import { appendOrders, createOrdersTables, createSinkOrdersTables, ORDER_ROWS, type OrderRow, upsertOrdersSql } from "../../../src/sinks/orders-table.ts";
import { memoryLogger } from "../logger.ts";

/** A stored row, as the stores answer it: strings as read and as UTF-8 bytes (hex), numbers as exact text. */
export interface StoredRow {
  order_id: string;
  product: string;
  customer_id: string | null;
  hex: { order_id: string; product: string; customer_id: string | null };
  quantity: string;
  price: string;
  /** Microseconds since 1970 UTC, exact. */
  ordered_at_us: string;
  ordered_at: string;
  kafka_offset: number;
  /** The lake's partition folder (lake rows only). */
  date?: string;
}

/** The columns a check reads back: strings also as their UTF-8 bytes, numbers and instants as exact text. */
export const READ_COLUMNS = `order_id, product, customer_id, hex(encode(order_id)) AS h_id, hex(encode(product)) AS h_product, hex(encode(customer_id)) AS h_customer,
  quantity::VARCHAR AS q, price::VARCHAR AS p, epoch_us(ordered_at)::VARCHAR AS us, ordered_at::VARCHAR AS t, kafka_offset`;

export function toStored(row: unknown[], withDate: boolean): StoredRow {
  const [order_id, product, customer_id, hId, hProduct, hCustomer, q, p, us, t, offset, date] = row;
  return {
    order_id: String(order_id),
    product: String(product),
    customer_id: customer_id === null ? null : String(customer_id),
    hex: { order_id: String(hId), product: String(hProduct), customer_id: hCustomer === null ? null : String(hCustomer) },
    quantity: String(q),
    price: String(p),
    ordered_at_us: String(us),
    ordered_at: String(t),
    kafka_offset: Number(offset),
    ...(withDate ? { date: String(date) } : {}),
  };
}

export interface StoreResult {
  /** Stores refused what ferry had accepted (in ferry: a blocked write-ahead log or sink). */
  storeError?: string;
  table: StoredRow[];
  lake: StoredRow[];
  /** Lake files the lake's own file grammar (listLakeFiles, recovery) does not see. */
  unlistedLakeFiles: string[];
}

async function readLake(db: Db, lakeDir: string, topic: string, staged: string[]): Promise<Pick<StoreResult, "lake" | "unlistedLakeFiles">> {
  if (staged.length === 0) return { lake: [], unlistedLakeFiles: [] };
  const listed = new Set(listLakeFiles(lakeDir, topic).map((f) => f.path));
  const unlistedLakeFiles = staged.filter((p) => !listed.has(p));
  await db.exec(lakeViewSql(lakeDir));
  const r = await db.query(`SELECT ${READ_COLUMNS}, date::VARCHAR FROM lake ORDER BY kafka_offset`);
  return { lake: r.rows.map((row) => toStored(row, true)), unlistedLakeFiles };
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  /** The orders the ingress accepted (as handed to the sink). */
  accepted: ReceivedOrder[];
  receivedAt?: Date;
  store?: StoreResult;
}

/** `ferry run`'s path, in-process. */
export async function openHttpPath() {
  const root = mkdtempSync(join(tmpdir(), "ferry-fuzz-http-"));
  const db = await openDb(":memory:");
  await db.exec("SET TimeZone = 'UTC'");
  let captured: ReceivedOrder[] = [];
  const sink: OrderSink = {
    write: async (orders) => {
      captured.push(...orders);
    },
    ready: () => true,
    close: async () => {},
  };
  const { log, lines } = memoryLogger("warn");
  const ingress = createIngress({ sink, bodyLimit: 1 << 20, authTokens: [], auth: undefined, maxInFlight: 1_000_000, log, version: "fuzz" });
  let run = 0;

  async function store(orders: ReceivedOrder[]): Promise<StoreResult> {
    const dir = join(root, String(run++));
    mkdirSync(dir, { recursive: true });
    const lakeDir = join(dir, "lake");
    await db.exec("DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS ferry_journal; DROP TABLE IF EXISTS ferry_offsets");
    await createOrdersTables(db);
    await db.exec(`CREATE TABLE ferry_journal AS SELECT * FROM orders LIMIT 0`);
    // As embedded-orders.ts's flush: one JSON line per row; as its apply: DuckDB's NDJSON reader.
    const ingestedAt = new Date().toISOString();
    const rows: OrderRow[] = orders.map((o, i) => ({ ...o, kafka_topic: "orders", kafka_partition: 0, kafka_offset: i, ingested_at: ingestedAt }));
    const file = join(dir, "apply.ndjson");
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n"));
    try {
      await db.transaction(async () => {
        await db.exec(`INSERT INTO ferry_journal ${ORDER_ROWS.rowsFromNdjsonFile(file)}`);
        await db.exec(upsertOrdersSql(`SELECT * FROM ferry_journal`));
      });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      return { storeError: `the table refused the rows: ${(e as Error).message}`, table: [], lake: [], unlistedLakeFiles: [] };
    }
    try {
      const table = (await db.query(`SELECT ${READ_COLUMNS} FROM orders ORDER BY kafka_offset`)).rows.map((r) => toStored(r, false));
      let published: string[];
      try {
        const select = `SELECT ${ORDER_ROWS.lakeColumns}, 'orders' AS __t, 0 AS __p, ${ORDER_ROWS.lakeDate} AS __d FROM ferry_journal ORDER BY kafka_offset`;
        const staged = await stageLakeFiles(db, join(dir, "staging"), select, () => ({ firstOffset: 0, lastOffset: rows.length - 1 }));
        published = (await publishLocal(lakeDir, staged)).map((f) => f.path);
      } catch (e) {
        return { storeError: `the lake rollup failed: ${(e as Error).message}`, table, lake: [], unlistedLakeFiles: [] };
      }
      return { table, ...(await readLake(db, lakeDir, "orders", published)) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  return {
    /** POSTs a body to the ingress; when it answers 202, stores what it accepted and reads it back. */
    async post(body: string | Uint8Array, contentType = "application/json"): Promise<HttpAnswer> {
      captured = [];
      const receivedBefore = new Date();
      const res = await ingress.app.fetch(new Request("http://ferry/orders", { method: "POST", headers: { "content-type": contentType }, body }));
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      const accepted = captured;
      if (res.status !== 202) return { status: res.status, body: parsed, accepted };
      return { status: res.status, body: parsed, accepted, receivedAt: receivedBefore, store: await store(accepted) };
    },
    logLines: lines,
    close() {
      db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface KafkaAnswer {
  /** Per value: undefined (accepted) or the reason it was rejected (a dead letter in ferry). */
  rejected: (string | undefined)[];
  store?: StoreResult;
}

/** `ferry sink`'s path, in-process: one batch of values from one partition. */
export async function openKafkaPath() {
  const root = mkdtempSync(join(tmpdir(), "ferry-fuzz-kafka-"));
  const db = await openDb(":memory:");
  await db.exec("SET TimeZone = 'UTC'");
  const decoder = createDecoder("orders");
  const layout = ORDER_ROWS;
  let run = 0;
  const topic = "fuzz";

  return {
    /** Decodes and stores one batch; `timestamp` is the records' Kafka timestamp (ms). */
    async produce(values: (Buffer | null)[], timestamp = Date.UTC(2026, 0, 2, 3, 4, 5, 678)): Promise<KafkaAnswer> {
      const dir = join(root, String(run++));
      mkdirSync(dir, { recursive: true });
      const lakeDir = join(dir, "lake");
      try {
        const messages: SourceRecord[] = values.map((value, i) => ({ key: null, value, offset: String(i), timestamp: String(timestamp) }));
        const batch = decoder.newBatch();
        await batch.add(topic, 0, messages, new Date());
        const decoded = await batch.finish();
        const rejected: (string | undefined)[] = values.map(() => undefined);
        for (const r of decoded.rejected) rejected[Number(r.offset)] = r.reason;
        if (decoded.rows === 0) return { rejected };
        // As lake-batches.ts's stageBatch: the rows as sent, and re-encoded once if DuckDB refuses them.
        const file = join(dir, "batch.ndjson");
        writeFileSync(file, Buffer.concat(decoded.ndjson));
        const select = `SELECT ${layout.lakeColumns}, kafka_topic AS __t, kafka_partition AS __p, ${layout.lakeDate} AS __d FROM (${layout.rowsFromTaggedNdjsonFile(file, decoded.segments)})`;
        const range = () => ({ firstOffset: 0, lastOffset: values.length - 1 });
        let published: string[];
        try {
          let staged;
          try {
            staged = await stageLakeFiles(db, join(dir, "staging"), select, range);
          } catch (e) {
            if (!/Invalid Input Error/.test((e as Error).message)) throw e;
            writeFileSync(file, Buffer.concat(normalizeRows(decoded.ndjson)));
            staged = await stageLakeFiles(db, join(dir, "staging"), select, range);
          }
          published = (await publishLocal(lakeDir, staged)).map((f) => f.path);
        } catch (e) {
          return { rejected, store: { storeError: `the lake refused the batch: ${(e as Error).message}`, table: [], lake: [], unlistedLakeFiles: [] } };
        }
        // As commitToTable: the table's rows read back from the lake files.
        await db.exec("DROP VIEW IF EXISTS orders; DROP TABLE IF EXISTS orders_rows; DROP TABLE IF EXISTS orders_recent_ids; DROP TABLE IF EXISTS ferry_offsets");
        await createSinkOrdersTables(db);
        const fromFiles = `SELECT ${layout.rowColumns} FROM (SELECT ${layout.lakeColumns}, ${sqlString(topic)} AS kafka_topic FROM read_parquet([${published.map(sqlString).join(", ")}], hive_partitioning = false))`;
        try {
          await db.transaction(() => appendOrders(db, fromFiles));
        } catch (e) {
          return { rejected, store: { storeError: `the table refused the batch: ${(e as Error).message}`, table: [], lake: [], unlistedLakeFiles: [] } };
        }
        const table = (await db.query(`SELECT ${READ_COLUMNS} FROM orders ORDER BY kafka_offset`)).rows.map((r) => toStored(r, false));
        return { rejected, store: { table, ...(await readLake(db, lakeDir, topic, published)) } };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    close() {
      db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
