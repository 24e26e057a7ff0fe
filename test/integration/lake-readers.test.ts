/**
 * Readers of the lake that ferry did not write (issue #20 item 7), from PyPI, installed once into
 * the cache folder (test/helpers/lake-readers.ts):
 * - DuckDB's Python package with the ducklake (and postgres) extension wheels attaches the catalog
 *   read-only and reads `lake` and `orders`: the rows and types ferry query gives, the values posted;
 * - pyarrow and Spark 3.5 read the lake's Parquet data files, no catalog, with the contract's types.
 *   A reader of raw files sees the rows in files only: a write within the inlining limit stays in
 *   the catalog (here ferry run's second rollup).
 * Two lakes: ferry run's (the default DuckDB-file catalog; edge values) and a sink's (a PostgreSQL
 * catalog; Kafka with two partitions, invalid records, repeated order ids). Spark starts once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kafka, Producer } from "kafkajs";
import { createKafka } from "../../src/kafka/client.ts";
import { catalogOf } from "../../src/lake/catalog.ts";
import { INLINE_ROWS } from "../../src/lake/tables.ts";
import { type QueryPlace, runQuery } from "../../src/modes/query.ts";
import { postOrders, startFerry } from "../helpers/ferry-process.ts";
import { type Cell, cells, DUCKDB_PYTHON, duckdbPythonRead, installPythonLibs, PYARROW, pyarrowReadFiles, PYSPARK, type PythonLibs, sparkReadFiles } from "../helpers/lake-readers.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { connInfoOf, dropDatabase, freshDatabase, startPostgres } from "../helpers/postgres.ts";
import { TEST_BROKERS, uniqueName } from "../helpers/servers.ts";
import { type Produced, produceKnown, runSink } from "../helpers/sink.ts";
import { createTestTopic } from "../helpers/topic-reader.ts";

/** The lake table's columns and DuckDB types (the contract); `orders` has the same without `date`. */
const LAKE_COLUMNS: [string, string][] = [
  ["order_id", "VARCHAR"],
  ["product", "VARCHAR"],
  ["quantity", "INTEGER"],
  ["price", "DECIMAL(12,2)"],
  ["customer_id", "VARCHAR"],
  ["ordered_at", "TIMESTAMP WITH TIME ZONE"],
  ["kafka_topic", "VARCHAR"],
  ["kafka_partition", "INTEGER"],
  ["kafka_offset", "BIGINT"],
  ["ingested_at", "TIMESTAMP WITH TIME ZONE"],
  ["date", "DATE"],
];
const ORDERS_COLUMNS = LAKE_COLUMNS.filter(([c]) => c !== "date");
const NAMES = LAKE_COLUMNS.map(([c]) => c);
/** The Python values DuckDB's package hands out, per column. */
const PYTHON_KINDS = { order_id: ["str"], product: ["str"], quantity: ["int"], price: ["Decimal"], customer_id: ["str"], ordered_at: ["datetime(tz)"], kafka_topic: ["str"], kafka_partition: ["int"], kafka_offset: ["int"], ingested_at: ["datetime(tz)"], date: ["date"] };
const ARROW_TYPES = {
  order_id: "string",
  product: "string",
  quantity: "int32",
  price: "decimal128(12, 2)",
  customer_id: "string",
  ordered_at: "timestamp[us, tz=UTC]",
  kafka_topic: "string",
  kafka_partition: "int32",
  kafka_offset: "int64",
  ingested_at: "timestamp[us, tz=UTC]",
  date: "date32[day]",
};
/** Spark's schema of the data files' folder: `date` once (the folders' date=… and the files' own column agree). */
const SPARK_SCHEMA: [string, string, boolean][] = [
  ["order_id", "string", true],
  ["product", "string", true],
  ["quantity", "int", true],
  ["price", "decimal(12,2)", true],
  ["customer_id", "string", true],
  ["ordered_at", "timestamp", true],
  ["kafka_topic", "string", true],
  ["kafka_partition", "int", true],
  ["kafka_offset", "bigint", true],
  ["ingested_at", "timestamp", true],
  ["date", "date", true],
];

// ---- ferry run's lake: edge values, then a rollup past the inlining limit (Parquet files) and one within it (inlined).

interface Posted {
  order: Record<string, unknown>;
  /** order_id, product, quantity, price, customer_id, ordered_at as every reader prints them. */
  want: Cell[];
  date: string;
}
const posted = (order: Record<string, unknown>, price: string, at: string): Posted => ({
  order,
  want: [order.order_id as string, order.product as string, String(order.quantity), price, (order.customer_id as string | undefined) ?? null, at],
  date: at.slice(0, 10),
});

const EDGES: Posted[] = [
  posted({ order_id: "edge-earliest", product: "p", quantity: 1, price: 0, ordered_at: "1900-01-01T00:00:00Z" }, "0.00", "1900-01-01T00:00:00.000000Z"),
  posted({ order_id: "edge-latest", product: "p", quantity: 1_000_000, price: 9_999_999_999.99, ordered_at: "9999-12-31T23:59:59.999999Z" }, "9999999999.99", "9999-12-31T23:59:59.999999Z"),
  // Another offset: the instant in UTC (the day, the lake's partition, too).
  posted({ order_id: "edge-offset", product: "p", quantity: 3, price: 0.07, ordered_at: "2026-03-01T23:30:00.5-05:00" }, "0.07", "2026-03-02T04:30:00.500000Z"),
  posted({ order_id: "edge-µs", product: "p", quantity: 2, price: 0.01, ordered_at: "2026-03-01T00:00:00.000001Z" }, "0.01", "2026-03-01T00:00:00.000001Z"),
  posted(
    { order_id: "заказ-№1 🚀", product: "café ☕ 注文 e\u0301 \"double\" 'single' back\\slash", quantity: 5, price: 19.99, customer_id: "клиент-🙂", ordered_at: "2026-03-02T12:00:00.123Z" },
    "19.99",
    "2026-03-02T12:00:00.123000Z",
  ),
  // An empty customer_id stays empty; a missing one is NULL.
  posted({ order_id: "edge-blank-customer", product: "tab\there\nnew line", quantity: 1, price: 100, customer_id: "", ordered_at: "2026-03-03T00:00:00Z" }, "100.00", "2026-03-03T00:00:00.000000Z"),
  posted({ order_id: "edge-no-customer", product: "p", quantity: 1, price: 1.1, ordered_at: "2026-03-03T23:59:59.999999Z" }, "1.10", "2026-03-03T23:59:59.999999Z"),
];
const pad = (n: number, width = 2) => String(n).padStart(width, "0");
/** The rest of the first rollup: deterministic values over three days, prices up to the largest, microseconds. */
const FILLER: Posted[] = Array.from({ length: INLINE_ROWS + 100 - EDGES.length }, (_, i) => {
  const cents = (i * 104_729 + 1) % 1_000_000_000_000;
  const at = `2026-03-0${1 + (i % 3)}T${pad(i % 24)}:${pad((i * 7) % 60)}:${pad((i * 13) % 60)}.${pad((i * 999_983) % 1_000_000, 6)}Z`;
  const order: Record<string, unknown> = { order_id: `f-${i}`, product: `product ${i} ${["tea", "Grüntee", "🍵", "注文"][i % 4]}`, quantity: 1 + ((i * 7919) % 1_000_000), price: cents / 100, ordered_at: at };
  if (i % 3 !== 0) order.customer_id = `c-${i % 50}`;
  return posted(order, `${Math.floor(cents / 100)}.${pad(cents % 100)}`, at);
});
const FIRST = [...EDGES, ...FILLER];
/** The second rollup (within the inlining limit): a new version of edge-latest and a new order. */
const SECOND: Posted[] = [
  posted({ order_id: "edge-latest", product: "p2", quantity: 2, price: 1.5, ordered_at: "2026-03-04T00:00:00Z" }, "1.50", "2026-03-04T00:00:00.000000Z"),
  posted({ order_id: "late-1", product: "p", quantity: 1, price: 2, ordered_at: "2026-03-04T00:00:01Z" }, "2.00", "2026-03-04T00:00:01.000000Z"),
];

const work = mkdtempSync(join(tmpdir(), "ferry-lake-readers-"));
const runDir = join(work, "run");
const sinkDir = join(work, "sink");
const tableFolder = (dataDir: string) => join(dataDir, "lake", "main", "lake");
let pgCatalog = "";
let produced: Produced;
const installMs: Record<string, number> = {};
let spark: ReturnType<typeof sparkReadFiles>;

/**
 * Both writers run without maintenance (--maintain-every 0): the test pins which rows are in files
 * (maintenance would write inlined rows out, and a merge leaves the merged files until they expire).
 */
const NO_MAINTENANCE = ["--maintain-every", "0"];

/** ferry run: one POST past the inlining limit rolled up on stop, then a small one. */
async function makeRunLake(): Promise<void> {
  for (const batch of [FIRST, SECOND]) {
    const ferry = await startFerry(["run", "--data-dir", runDir, "--port", "0", "--interval", "1h", ...NO_MAINTENANCE]);
    const res = await postOrders(ferry.url, batch.map((p) => p.order));
    expect({ status: res.status, body: res.status === 202 ? "" : (await res.text()).slice(0, 500) }).toEqual({ status: 202, body: "" });
    expect(await ferry.stop()).toBe(0); // rolled up on stop: one rollup per batch
  }
}

/** ferry sink into a PostgreSQL catalog: one batch past the inlining limit from two partitions. */
async function makeSinkLake(): Promise<void> {
  const kafka: Kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const topic = uniqueName("lake-readers");
  try {
    await createTestTopic(kafka, topic, 2);
    produced = await produceKnown(producer, topic, 2600);
  } finally {
    await producer.disconnect();
  }
  await startPostgres();
  pgCatalog = await freshDatabase("lake_readers");
  const run = await runSink(["--topic", topic, "--group", uniqueName("g"), "--data-dir", sinkDir, "--catalog", pgCatalog, "--until-caught-up", "--max-records", "5000", "--interval", "2s", ...NO_MAINTENANCE]);
  expect({ code: run.code, err: run.code === 0 ? "" : run.stderr.slice(-2000) }).toEqual({ code: 0, err: "" });
}

beforeAll(async () => {
  const install = async (name: string, libs: PythonLibs) => {
    installMs[name] = await installPythonLibs(libs);
  };
  await Promise.all([install("duckdb", DUCKDB_PYTHON), install("pyarrow", PYARROW), install("pyspark", PYSPARK), makeRunLake(), makeSinkLake()]);
  if (Object.values(installMs).some((ms) => ms > 0)) console.log(`lake readers installed (ms): ${JSON.stringify(installMs)}`);
  // Spark's session takes its time: it reads both lakes while the other readers' tests run.
  spark = sparkReadFiles([tableFolder(runDir), tableFolder(sinkDir)]);
  spark.catch(() => {}); // its test reports the failure
}, 600_000);
afterAll(async () => {
  await spark?.catch(() => {});
  if (pgCatalog) await dropDatabase(pgCatalog).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

/** ferry query's rows of a table, every value as text the way the Python readers print it. */
async function ferryQueryRows(place: string | QueryPlace, table: "lake" | "orders"): Promise<{ columns: [string, string][]; rows: Cell[][] }> {
  const shape = await runQuery(place, `SELECT * FROM ${table} LIMIT 0`);
  const columns = shape.columns.map((c, i) => [c, shape.types[i]!] as [string, string]);
  const text = columns.map(([c, type]) => {
    if (type === "TIMESTAMP WITH TIME ZONE") return `strftime(timezone('UTC', "${c}"), '%Y-%m-%dT%H:%M:%S.%fZ') AS "${c}"`;
    if (type.startsWith("DECIMAL") || type === "DATE") return `CAST("${c}" AS VARCHAR) AS "${c}"`;
    return `"${c}"`;
  });
  const order = table === "lake" ? "kafka_topic, kafka_partition, kafka_offset" : "order_id";
  const r = await runQuery(place, `SELECT ${text.join(", ")} FROM ${table} ORDER BY ${order}`);
  return { columns, rows: r.rows.map(cells) };
}

const recordPart = (row: Cell[]) => row.slice(0, 6); // order_id … ordered_at
const sorted = (rows: Cell[][]) => rows.map((r) => JSON.stringify(r)).sort();
/** DuckDB's Python read of a catalog, once per catalog. */
const catalogReads = new Map<string, ReturnType<typeof duckdbPythonRead>>();
const readCatalog = (target: string) => catalogReads.get(target) ?? catalogReads.set(target, duckdbPythonRead(target)).get(target)!;
const runCatalog = () => readCatalog(`ducklake:${join(runDir, "lake.ducklake")}`);
const sinkCatalog = () => readCatalog(`ducklake:postgres:${connInfoOf(pgCatalog)}`);
const byOffset = (rows: Cell[][]) => new Map(rows.map((r) => [`${r[7]}/${r[8]}`, r]));

describe("DuckDB's Python package attaches the catalog", () => {
  test("ferry run's catalog (a DuckDB file), read-only: lake and orders with ferry query's rows and types; the values posted, edge values unchanged", async () => {
    const py = await runCatalog();
    expect(py.duckdb).toBe("1.5.5");
    expect(py.extensions.ducklake).toContain("duckdb_extension_ducklake");
    const lake = await ferryQueryRows(runDir, "lake");
    const orders = await ferryQueryRows(runDir, "orders"); // ferry run's own table (keyed), beside the catalog's lake
    expect(lake.columns).toEqual(LAKE_COLUMNS);
    expect(orders.columns).toEqual(ORDERS_COLUMNS);
    expect(py.tables.lake.columns).toEqual(LAKE_COLUMNS);
    expect(py.tables.orders.columns).toEqual(ORDERS_COLUMNS);
    expect(py.tables.lake.kinds).toEqual(PYTHON_KINDS);
    expect(py.tables.lake.rows.map(cells)).toEqual(lake.rows);
    expect(py.tables.orders.rows.map(cells)).toEqual(orders.rows);

    // What was posted, every record once in the lake; each order_id once in orders (its latest).
    const all = [...FIRST, ...SECOND];
    expect(lake.rows.length).toBe(all.length);
    expect(sorted(lake.rows.map(recordPart))).toEqual(sorted(all.map((p) => p.want)));
    expect(lake.rows.map((r) => r[10]).sort()).toEqual(all.map((p) => p.date).sort());
    const latest = new Map([...FIRST, ...SECOND].map((p) => [p.want[0], p.want]));
    expect(sorted(orders.rows.map(recordPart))).toEqual(sorted([...latest.values()]));
    expect(orders.rows.find((r) => r[0] === "edge-latest")!.slice(1, 4)).toEqual(["p2", "2", "1.50"]);
    // The edge values, as a reader gets them.
    const edge = (id: string) => py.tables.lake.rows.find((r) => r[0] === id)!;
    expect(edge("edge-earliest").slice(3, 6).concat(edge("edge-earliest")[10])).toEqual(["0.00", null, "1900-01-01T00:00:00.000000Z", "1900-01-01"]);
    expect(edge("edge-offset")[10]).toBe("2026-03-02");
    expect(edge("edge-blank-customer")[4]).toBe("");
    expect(edge("edge-no-customer")[4]).toBeNull();
  }, 60_000);

  test("a sink's PostgreSQL catalog (ducklake:postgres:…, with the postgres wheel): lake and orders with ferry query's rows and types", async () => {
    const py = await sinkCatalog();
    expect(py.extensions.postgres).toContain("duckdb_extension_postgres");
    const place: QueryPlace = { dataDir: sinkDir, catalog: catalogOf({ dataDir: sinkDir, catalog: pgCatalog }) };
    const lake = await ferryQueryRows(place, "lake");
    const orders = await ferryQueryRows(place, "orders"); // the catalog's view: each order_id's latest
    expect(py.tables.lake.columns).toEqual(LAKE_COLUMNS);
    expect(py.tables.orders.columns).toEqual(ORDERS_COLUMNS);
    expect(py.tables.lake.kinds).toEqual(PYTHON_KINDS);
    expect(py.tables.lake.rows.map(cells)).toEqual(lake.rows);
    expect(py.tables.orders.rows.map(cells)).toEqual(orders.rows);
    expect(lake.rows.length).toBe(produced.valid.length);
    expect(orders.rows.length).toBe(produced.latest.size);
    expect(new Set(lake.rows.map((r) => r[7]))).toEqual(new Set(["0", "1"]));
    for (const r of orders.rows) {
      const want = produced.latest.get(r[0]!)!;
      expect({ id: r[0], quantity: r[2], price: Number(r[3]) }).toEqual({ id: r[0], quantity: String(want.quantity), price: want.price });
    }
    expect(py.files.length).toBeGreaterThan(0); // the batch was past the inlining limit
  }, 60_000);
});

describe("pyarrow reads the data files (no catalog)", () => {
  test("ferry run's files: the contract's types; exactly the rows of the rollup past the inlining limit (the small one stays in the catalog); pq.read_table of the folder needs the date declared", async () => {
    const [arrow, py] = await Promise.all([pyarrowReadFiles(tableFolder(runDir)), runCatalog()]);
    // The files in the folder are the catalog's files, one folder per date, each holding its folder's date only.
    expect(arrow.files.map((f) => f.path).sort()).toEqual([...py.files].sort());
    for (const f of arrow.files) expect(f.dates).toEqual([f.folder_date]);
    expect(arrow.columns).toEqual(NAMES);
    expect(arrow.types).toEqual(ARROW_TYPES);
    expect(arrow.kinds).toEqual(PYTHON_KINDS);
    // Raw files hold the first rollup (past the inlining limit), not the second (inlined in the catalog).
    const rows = arrow.rows.map(cells);
    expect(sorted(rows.map(recordPart))).toEqual(sorted(FIRST.map((p) => p.want)));
    const lake = byOffset(py.tables.lake.rows.map(cells));
    for (const r of rows) expect(r).toEqual(lake.get(`${r[7]}/${r[8]}`)!);
    expect(lake.size - rows.length).toBe(SECOND.length);
    // pq.read_table(folder) (and pandas.read_parquet) infer the folders' date=… as a string, which
    // clashes with the files' own `date` column: a raw reader reads with no partitioning or declares it.
    expect(arrow.read_table.error).toMatch(/Unable to merge: Field date has incompatible types: date32\[day\] vs dictionary<values=string/);
    expect(arrow.read_table_unpartitioned).toEqual({ types: ARROW_TYPES, rows: FIRST.length });
    expect(arrow.read_table_date32).toEqual({ types: ARROW_TYPES, rows: FIRST.length });
  }, 60_000);

  test("the sink's files (two partitions): the contract's types; each row the catalog's row at its partition and offset", async () => {
    const [arrow, py] = await Promise.all([pyarrowReadFiles(tableFolder(sinkDir)), sinkCatalog()]);
    expect(arrow.files.map((f) => f.path).sort()).toEqual([...py.files].sort());
    for (const f of arrow.files) expect(f.dates).toEqual([f.folder_date]);
    expect(arrow.types).toEqual(ARROW_TYPES);
    const rows = arrow.rows.map(cells);
    expect(rows.length).toBeGreaterThan(INLINE_ROWS);
    expect(new Set(rows.map((r) => `${r[7]}/${r[8]}`)).size).toBe(rows.length);
    expect(new Set(rows.map((r) => r[7]))).toEqual(new Set(["0", "1"]));
    const lake = byOffset(py.tables.lake.rows.map(cells));
    for (const r of rows) expect(r).toEqual(lake.get(`${r[7]}/${r[8]}`)!);
  }, 60_000);
});

describe("Spark 3.5 reads the data files' folder as Parquet (no catalog)", () => {
  test("both lakes in one session: the contract's types, `date` once (the folders' and the files' agree), pyarrow's rows", async () => {
    const s = await spark;
    expect(s.spark).toStartWith("3.5.");
    for (const dataDir of [runDir, sinkDir]) {
      const folder = s.folders[tableFolder(dataDir)]!;
      expect(folder.schema).toEqual(SPARK_SCHEMA);
      const arrow = await pyarrowReadFiles(tableFolder(dataDir));
      expect(folder.rows.map(cells)).toEqual(arrow.rows.map(cells));
    }
    const run = s.folders[tableFolder(runDir)]!.rows.map(cells);
    expect(sorted(run.map(recordPart))).toEqual(sorted(FIRST.map((p) => p.want)));
    const earliest = run.find((r) => r[0] === "edge-earliest")!;
    expect([earliest[5], earliest[10]]).toEqual(["1900-01-01T00:00:00.000000Z", "1900-01-01"]); // no calendar rebase at 1900
    console.log(`spark ${s.spark}: session ${s.session_seconds.toFixed(1)} s, reads ${Object.values(s.folders).map((f) => f.seconds.toFixed(1)).join(" s, ")} s`);
  }, 180_000);
});
