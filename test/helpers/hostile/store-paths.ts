/**
 * ferry's two ways from record text to the stores, run in-process for property tests (no server),
 * through ferry's own code from the decoding to the catalog:
 *  - HTTP (`ferry run`): the ingress app (read-records.ts, the schema) hands what it accepts to
 *    ferry run's sink (openEmbeddedOrderSink: the write-ahead log, the journal and its keyed
 *    `orders` table), whose rollup then inserts the journal into the catalog's `lake`; read back
 *    through the sink's query service: its `orders` table and the catalog's `lake`.
 *  - Kafka (`ferry sink`): createDecoder's batches (bytes check, JSON.parse + valibot) written by
 *    the sink's batch store (openLakeBatchStore: the rows file, its staging SELECT into a memory
 *    table, normalizeRows when DuckDB refuses the batch as sent, dead letters for rows it still
 *    refuses, one catalog transaction inserting into `lake`); read back through the store's query
 *    service: the catalog's `lake` and its `orders` view.
 * Each path writes every input into two DuckDB-file catalogs (temporary folders; SQLite ones with
 * FERRY_FUZZ_CATALOG=sqlite): one as ferry makes it (a small write stays inlined in the catalog
 * database) and one whose lake table's inlining limit is 0 (every write a Parquet file); each
 * checks after every write that its rows were kept that way. Each path answers what ferry did with
 * every record, and what each catalog holds for it.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../../src/db/duckdb.ts";
import type { QueryService } from "../../../src/db/query-service.ts";
import { errorMessage } from "../../../src/errors.ts";
import { createIngress } from "../../../src/http/app.ts";
import { openLakeBatchStore } from "../../../src/lake/batch-store.ts";
import { attachCatalog, catalogOf, LAKE_DB } from "../../../src/lake/catalog.ts";
import { createLakeTables, INLINE_ROWS, lakeTableOf } from "../../../src/lake/tables.ts";
import { createDecoder, type SourceRecord } from "../../../src/pipeline/decode.ts";
import type { OrderSink } from "../../../src/pipeline/record-sink.ts";
import type { ReceivedOrder } from "../../../src/schema/order.ts";
import type { DeadLetter } from "../../../src/sinks/dead-letters.ts";
import { openEmbeddedOrderSink } from "../../../src/sinks/embedded-orders.ts";
import { QUARANTINE_TABLE } from "../../../src/sinks/quarantine.ts";
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
  /** The lake's `date` partition (lake rows only). */
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
  /** Stores refused what ferry had accepted (in ferry: a blocked write-ahead log or sink, a quarantined order). */
  storeError?: string;
  table: StoredRow[];
  lake: StoredRow[];
}

/** The two catalogs each input is written into: the lake table as ferry makes it, and one writing every insert as a Parquet file. */
export const CATALOG_VARIANTS = ["inlined", "parquet"] as const;
export type CatalogVariant = (typeof CATALOG_VARIANTS)[number];
/** What each catalog holds for an input, by variant. */
export type StoreResults = Record<CatalogVariant, StoreResult>;

/** Writes into one catalog start over in a fresh folder after this many (the lake grows by a file per write in the Parquet variant). */
const WRITES_PER_CATALOG = 100;

/**
 * A DuckDB-file catalog in `dataDir` (where ferry puts it by default; FERRY_FUZZ_CATALOG=sqlite: a
 * SQLite one) with its lake table made:
 * as ferry makes it ("inlined": writes up to INLINE_ROWS rows stay in the catalog), or with an
 * inlining limit of 0 ("parquet": every write is a Parquet file under <dataDir>/lake/).
 */
async function prepareCatalog(dataDir: string, variant: CatalogVariant) {
  const catalog = catalogOf({ dataDir, catalog: process.env.FERRY_FUZZ_CATALOG === "sqlite" ? `sqlite:${join(dataDir, "lake.sqlite")}` : undefined });
  const dataPath = { url: `${join(dataDir, "lake")}/` };
  if (variant === "parquet") {
    const db = await openDb(":memory:");
    try {
      await attachCatalog(db, catalog, dataPath);
      await createLakeTables(db, "orders");
      await db.exec(`CALL ${LAKE_DB}.set_option('data_inlining_row_limit', 0, table_name => '${lakeTableOf("orders")}')`);
    } finally {
      db.close();
    }
  }
  return { catalog, dataPath };
}

/** The Parquet files under a lake folder (any depth). */
function parquetFiles(lakeDir: string): number {
  try {
    return readdirSync(lakeDir, { recursive: true }).filter((f) => String(f).endsWith(".parquet")).length;
  } catch {
    return 0;
  }
}

/**
 * After a write that stored rows: the helper's own check that the catalog kept them as its variant
 * says (else the property would not test what it claims). Throws: a fault of the test, not of ferry.
 */
function checkKeptAs(variant: CatalogVariant, lakeDir: string, filesBefore: number, stored: boolean): number {
  const files = parquetFiles(lakeDir);
  if (variant === "inlined" && files !== 0) throw new Error(`test helper: the inlined catalog wrote ${files} Parquet file(s) under ${lakeDir} (batches here are far below INLINE_ROWS = ${INLINE_ROWS})`);
  if (variant === "parquet" && stored && files <= filesBefore) throw new Error(`test helper: the Parquet catalog wrote no Parquet file for a write (still ${files} under ${lakeDir}): its rows stayed inlined`);
  return files;
}

/**
 * The rows of `orders` and `lake` whose offsets are first..last, read in one query through a ferry
 * query service, their offsets counted from `first` (the input's index). `where` narrows both.
 */
async function readBack(query: QueryService, first: number, last: number, where = "true"): Promise<Pick<StoreResult, "table" | "lake">> {
  const range = `kafka_offset BETWEEN ${first} AND ${last} AND ${where}`;
  const r = await query(
    `SELECT 'lake' AS from_table, ${READ_COLUMNS}, date::VARCHAR FROM lake WHERE ${range} ` +
      `UNION ALL SELECT 'orders', ${READ_COLUMNS}, NULL FROM orders WHERE ${range} ORDER BY from_table, kafka_offset`,
  );
  const out: Pick<StoreResult, "table" | "lake"> = { table: [], lake: [] };
  for (const [from, ...row] of r.rows) {
    const lake = from === "lake";
    const stored = toStored(row, lake);
    (lake ? out.lake : out.table).push({ ...stored, kafka_offset: stored.kafka_offset - first });
  }
  return out;
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  /** The orders the ingress accepted (as handed to the sink). */
  accepted: ReceivedOrder[];
  receivedAt?: Date;
  stores?: StoreResults;
}

/** One `ferry run` sink on a catalog of the variant, in a data dir of its own. */
async function openRunSink(root: string, variant: CatalogVariant) {
  const dataDir = mkdtempSync(join(root, `run-${variant}-`));
  const { catalog, dataPath } = await prepareCatalog(dataDir, variant);
  const { log, lines } = memoryLogger("warn");
  const sink = await openEmbeddedOrderSink({ dataDir, catalog, dataPath, rollupIntervalMs: 3_600_000, lingerMs: 0, maxBatchRecords: 100_000 }, log);
  return { variant, dataDir, lakeDir: join(dataDir, "lake"), sink, lines, files: 0, writes: 0, /** The sequence of the next order written (ferry run numbers them from 0 in a new data dir). */ nextSeq: 0, broken: false };
}
type RunSink = Awaited<ReturnType<typeof openRunSink>>;

/** `ferry run`'s path, in-process. */
export async function openHttpPath() {
  const root = mkdtempSync(join(tmpdir(), "ferry-fuzz-http-"));
  const sinks = new Map<CatalogVariant, RunSink>();
  for (const v of CATALOG_VARIANTS) sinks.set(v, await openRunSink(root, v));
  let captured: ReceivedOrder[] = [];
  /** The ingress's sink: each sink of the two catalogs takes the orders (202 once both have them durable). */
  const fanOut: OrderSink = {
    write: async (orders) => {
      captured.push(...orders);
      await Promise.all(
        [...sinks.values()].map(async (s) => {
          s.nextSeq += orders.length;
          await s.sink.write(orders).catch((e: unknown) => {
            s.broken = true;
            throw e;
          });
        }),
      );
    },
    ready: () => true,
    close: async () => {},
  };
  const { log, lines } = memoryLogger("warn");
  const ingress = createIngress({ sink: fanOut, bodyLimit: 1 << 20, authTokens: [], auth: undefined, maxInFlight: 1_000_000, log, version: "fuzz" });

  /** A sink that failed or wrote its share starts over on a fresh catalog. */
  async function renew(s: RunSink): Promise<void> {
    if (!s.broken && s.writes < WRITES_PER_CATALOG) return;
    await s.sink.close().catch(() => {});
    rmSync(s.dataDir, { recursive: true, force: true });
    sinks.set(s.variant, await openRunSink(root, s.variant));
  }

  /** The orders a sink took as sequences first.., rolled into its catalog, read back. */
  async function readStore(s: RunSink, first: number, count: number): Promise<StoreResult> {
    const last = first + count - 1;
    try {
      await s.sink.rollup();
    } catch (e) {
      s.broken = true;
      return { storeError: `the rollup into the catalog failed: ${errorMessage(e)}`, table: [], lake: [] };
    }
    s.writes++;
    s.files = checkKeptAs(s.variant, s.lakeDir, s.files, true);
    // ferry run's own keyed table (the latest of each order_id), and the catalog's lake.
    const { table, lake } = await readBack(s.sink.query, first, last);
    // An acknowledged order the table refused is in the quarantine, not in the journal (nor the lake).
    const quarantined = lake.length === count ? [] : (await s.sink.query(`SELECT seq, reason FROM ${QUARANTINE_TABLE} WHERE seq BETWEEN ${first} AND ${last} ORDER BY seq`)).rows;
    if (quarantined.length > 0) {
      s.broken = true;
      return { storeError: `acknowledged orders were quarantined: ${quarantined.map(([seq, reason]) => `record ${Number(seq) - first}: ${String(reason)}`).join("; ")}`, table, lake };
    }
    return { table, lake };
  }

  return {
    /** POSTs a body to the ingress; when it answers 202, rolls what the sinks took into their catalogs and reads it back. */
    async post(body: string | Uint8Array, contentType = "application/json"): Promise<HttpAnswer> {
      captured = [];
      const firsts = new Map([...sinks].map(([v, s]) => [v, s.nextSeq]));
      const receivedBefore = new Date();
      const res = await ingress.app.fetch(new Request("http://ferry/orders", { method: "POST", headers: { "content-type": contentType }, body }));
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      const accepted = captured;
      try {
        if (res.status !== 202) return { status: res.status, body: parsed, accepted };
        const stores = {} as StoreResults;
        await Promise.all([...sinks].map(async ([v, s]) => (stores[v] = await readStore(s, firsts.get(v)!, accepted.length))));
        return { status: res.status, body: parsed, accepted, receivedAt: receivedBefore, stores };
      } finally {
        for (const s of [...sinks.values()]) await renew(s);
      }
    },
    logLines: lines,
    async close() {
      for (const s of sinks.values()) await s.sink.close().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface KafkaAnswer {
  /** Per value: undefined (accepted) or the reason it was rejected (a dead letter in ferry: by the decoder, or by the store). */
  rejected: (string | undefined)[];
  stores?: StoreResults;
}

/** One `ferry sink` batch store on a catalog of the variant, in a data dir of its own. */
async function openSinkStore(root: string, variant: CatalogVariant) {
  const dataDir = mkdtempSync(join(root, `sink-${variant}-`));
  const { catalog, dataPath } = await prepareCatalog(dataDir, variant);
  const { log, lines } = memoryLogger("warn");
  let deadLetters: DeadLetter[] = [];
  const store = await openLakeBatchStore({ dataDir, catalog, dataPath, writer: `fuzz ${variant}`, kind: "orders", memoryLimitMb: 256, threads: 1, deadLetters: async (d) => void deadLetters.push(...d) }, log);
  return {
    variant,
    dataDir,
    lakeDir: join(dataDir, "lake"),
    store,
    lines,
    files: 0,
    writes: 0,
    broken: false,
    /** The dead letters of the last write. */
    takeDeadLetters() {
      const d = deadLetters;
      deadLetters = [];
      return d;
    },
  };
}
type SinkStore = Awaited<ReturnType<typeof openSinkStore>>;

/** `ferry sink`'s path, in-process: one batch of values from one partition. */
export async function openKafkaPath() {
  const root = mkdtempSync(join(tmpdir(), "ferry-fuzz-kafka-"));
  const decoder = createDecoder("orders");
  const topic = "fuzz";
  const stores = new Map<CatalogVariant, SinkStore>();
  const open = async (v: CatalogVariant) => {
    const s = await openSinkStore(root, v);
    await s.store.recover(topic, [0]);
    stores.set(v, s);
  };
  for (const v of CATALOG_VARIANTS) await open(v);
  /** The batches' offsets go on from batch to batch (the partition's offset in the catalog moves with each); a batch's values are offsets first… */
  let nextOffset = 0;
  let sequence = 0;

  async function renew(s: SinkStore): Promise<void> {
    if (!s.broken && s.writes < WRITES_PER_CATALOG) return;
    await s.store.close().catch(() => {});
    rmSync(s.dataDir, { recursive: true, force: true });
    await open(s.variant);
  }

  return {
    /** Decodes and stores one batch; `timestamp` is the records' Kafka timestamp (ms). */
    async produce(values: (Buffer | null)[], timestamp = Date.UTC(2026, 0, 2, 3, 4, 5, 678)): Promise<KafkaAnswer> {
      const first = nextOffset;
      const last = first + values.length - 1;
      nextOffset += values.length;
      const messages: SourceRecord[] = values.map((value, i) => ({ key: null, value, offset: String(first + i), timestamp: String(timestamp) }));
      const batch = decoder.newBatch();
      await batch.add(topic, 0, messages, new Date());
      const decoded = await batch.finish();
      const rejected: (string | undefined)[] = values.map(() => undefined);
      for (const r of decoded.rejected) rejected[Number(r.offset) - first] = r.reason;
      const results = {} as StoreResults;
      const seq = ++sequence;
      try {
        // The two catalogs' stores (DuckDB instances of their own) at once.
        await Promise.all(
          [...stores].map(async ([v, s]) => {
            // A store's write takes the batch's rows out of it (ndjson, sources): each gets its own arrays.
            const write = { ...decoded, ndjson: [...decoded.ndjson], sources: [...decoded.sources], ranges: [{ topic, partition: 0, firstOffset: first, lastOffset: last }], sequence: seq };
            try {
              await s.store.write(write);
            } catch (e) {
              s.broken = true;
              results[v] = { storeError: `the batch store refused the batch: ${errorMessage(e)}`, table: [], lake: [] };
              return;
            }
            s.writes++;
            // Rows DuckDB refused for a reason of their own went to the dead letters, with that reason.
            for (const d of s.takeDeadLetters()) rejected[Number(d.offset) - first] ??= `(dead letter of the ${v} catalog's store) ${d.reason}`;
            s.files = checkKeptAs(v, s.lakeDir, s.files, decoded.rows > 0);
            // The catalog's `orders`: each order_id's latest row of the whole lake (this batch's are the latest).
            results[v] = await readBack(s.store.query, first, last, `kafka_topic = '${topic}'`);
          }),
        );
      } finally {
        for (const s of [...stores.values()]) await renew(s);
      }
      return { rejected, stores: results };
    },
    async close() {
      for (const s of stores.values()) await s.store.close().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}
