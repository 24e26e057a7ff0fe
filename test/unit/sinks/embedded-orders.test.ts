/** The embedded sink's rollup into the catalog's lake: exactly once, also when a rollup was cut short. */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataPaths, openDb } from "../../../src/db/duckdb.ts";
import { catalogOf } from "../../../src/lake/catalog.ts";
import { DEFAULT_MAINTENANCE } from "../../../src/lake/maintenance.ts";
import { openEmbeddedOrderSink, RUN_TOPIC, type RollupFaultPoint } from "../../../src/sinks/embedded-orders.ts";
import { openWriteAheadLog } from "../../../src/sinks/write-ahead-log.ts";
import { UnavailableError } from "../../../src/pipeline/errors.ts";
import { ConfigError } from "../../../src/errors.ts";
import { faultyFiles } from "../../helpers/faulty-file.ts";
import { memoryLogger } from "../../helpers/logger.ts";
import { catalogOffsets, type LakeAt, queryCatalog } from "../../helpers/sink.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ferry-embedded-"));
  dirs.push(d);
  return d;
};

const orders = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ order_id: `o${from + i}`, product: "p", quantity: 1, price: 1.25, ordered_at: (from + i) % 2 ? "2026-05-01T12:00:00Z" : "2026-05-02T12:00:00Z" }));
const opts = (dataDir: string) => ({ dataDir, rollupIntervalMs: 3_600_000, lingerMs: 0, maxBatchRecords: 1000 });

/** rows, distinct sequences, first and last sequence of the catalog's lake (read as any reader would, after the sink closed). */
async function lake(at: LakeAt) {
  const r = await queryCatalog(at, "select count(*) as n, count(distinct kafka_offset) as d, min(kafka_offset) as lo, max(kafka_offset) as hi from lake");
  const row = r.rows[0]!;
  return [row.n, row.d, row.lo, row.hi].map((x) => (x === null ? null : Number(x)));
}
const snapshots = async (at: LakeAt) => Number((await queryCatalog(at, "select count(*) as n from ducklake_snapshots('ferry_lake')")).rows[0]!.n);

test("every accepted record reaches the catalog's lake once, across restarts; the run's offset moves with it; an empty rollup commits nothing", async () => {
  const dataDir = tempDir();
  const { log } = memoryLogger();
  let before = 0;
  for (const from of [0, 10, 20]) {
    const sink = await openEmbeddedOrderSink(opts(dataDir), log);
    await sink.write(orders(10, from));
    expect(await sink.rollup()).toBe(10);
    expect(await sink.rollup()).toBe(0); // nothing left: no empty snapshot
    expect((await sink.query("select count(*)::INT from lake")).rows).toEqual([[from + 10]]);
    await sink.close();
    const now = await snapshots(dataDir);
    if (before > 0) expect(now).toBe(before + 1); // one snapshot per rollup
    before = now;
  }
  expect(await lake(dataDir)).toEqual([30, 30, 0, 29]);
  expect(await catalogOffsets(dataDir, RUN_TOPIC)).toEqual(new Map([[0, 30]]));
  const byDate = await queryCatalog(dataDir, "select date::VARCHAR as d, count(*)::INT as n, min(kafka_topic) as t, max(kafka_partition) as p from lake group by 1 order by 1");
  expect(byDate.rows).toEqual([
    { d: "2026-05-01", n: 15, t: RUN_TOPIC, p: 0 },
    { d: "2026-05-02", n: 15, t: RUN_TOPIC, p: 0 },
  ]);
}, 60_000);

/** A rollup stopped at each point (an exception where a kill would be: the integration test kills for real). */
for (const point of ["rollup-start", "in-lake-commit", "lake-committed", "journal-dropped"] as RollupFaultPoint[]) {
  test(`a rollup stopped at ${point} is completed by the next one exactly: nothing lost, nothing twice`, async () => {
    const dataDir = tempDir();
    const { log } = memoryLogger("error");
    let armed = true;
    const sink = await openEmbeddedOrderSink(
      {
        ...opts(dataDir),
        fault: (p) => {
          if (armed && p === point) {
            armed = false;
            throw new Error(`stopped at ${p}`);
          }
        },
      },
      log,
    );
    await sink.write(orders(7));
    await expect(sink.rollup()).rejects.toThrow(`stopped at ${point}`);
    await sink.write(orders(3, 7));
    const second = await sink.rollup();
    // Rows the stopped rollup committed are not rolled again.
    expect(second).toBe(point === "lake-committed" || point === "journal-dropped" ? 3 : 10);
    await sink.close();
    expect(await lake(dataDir)).toEqual([10, 10, 0, 9]);
    expect(await catalogOffsets(dataDir, RUN_TOPIC)).toEqual(new Map([[0, 10]]));
  }, 60_000);
}

test("journal rows the catalog holds already (a kill between the catalog's commit and the journal's drop) are dropped at start, not rolled again", async () => {
  const dataDir = tempDir();
  const { log, lines } = memoryLogger("notice");
  const sink = await openEmbeddedOrderSink(opts(dataDir), log);
  await sink.write(orders(10));
  await sink.write(orders(5, 10));
  await sink.close(); // rollup [0, 14]
  expect(await lake(dataDir)).toEqual([15, 15, 0, 14]);

  // The state of a kill after that rollup's catalog commit: its rows still in the journal.
  const db = await openDb(dataPaths(dataDir).database);
  await db.exec(`INSERT INTO ferry_journal SELECT * FROM orders`);
  db.close();

  const again = await openEmbeddedOrderSink(opts(dataDir), log);
  expect(lines.some((l) => l.includes("dropped journal rows the catalog's lake holds already") && l.includes('"rows":15'))).toBe(true);
  expect(await again.rollup()).toBe(0);
  await again.write(orders(1, 15));
  await again.close();
  expect(await lake(dataDir)).toEqual([16, 16, 0, 15]);
}, 60_000);

test("one ferry run per catalog: another data dir's run is refused on a catalog this one rolls into, before it writes anything", async () => {
  const shared = tempDir();
  const catalog = catalogOf({ dataDir: shared, catalog: `sqlite:${join(shared, "lake.sqlite")}` });
  const dataPath = { url: `${join(shared, "lake")}/` };
  const { log } = memoryLogger("error");
  const first = await openEmbeddedOrderSink({ ...opts(tempDir()), catalog, dataPath }, log);
  await first.write(orders(3));
  await first.close();
  const other = tempDir();
  const err = await openEmbeddedOrderSink({ ...opts(other), catalog, dataPath }, log).then(
    async (s) => (await s.close(), undefined),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(String((err as Error).message)).toMatch(/rolled up from another data dir .*one ferry run per catalog/);
  expect(await lake({ dataDir: shared, catalog: `sqlite:${join(shared, "lake.sqlite")}` })).toEqual([3, 3, 0, 2]);
}, 60_000);

test("the data dir records its catalog: opened without one (ferry generate into it), the recorded one with its data path; another is refused", async () => {
  const dataDir = tempDir();
  const sqlite = `sqlite:${join(tempDir(), "lake.sqlite")}`;
  const { log } = memoryLogger("error");
  const first = await openEmbeddedOrderSink({ ...opts(dataDir), catalog: catalogOf({ dataDir, catalog: sqlite }), dataPath: { url: `${join(tempDir(), "files")}/` } }, log);
  await first.write(orders(2));
  await first.close();
  const again = await openEmbeddedOrderSink(opts(dataDir), log); // no catalog given: the recorded one, with its data path
  await again.write(orders(1, 2));
  await again.close();
  expect(await lake({ dataDir, catalog: sqlite })).toEqual([3, 3, 0, 2]);
  expect(existsSync(join(dataDir, "lake.ducklake"))).toBe(false);
  const other = await openEmbeddedOrderSink({ ...opts(dataDir), catalog: catalogOf({ dataDir }) }, log).then(
    async (s) => (await s.close(), undefined),
    (e: unknown) => e,
  );
  expect(other).toBeInstanceOf(ConfigError);
  expect(String((other as Error).message)).toContain(`this data dir's ferry run rolls its orders into the catalog ${sqlite}, not ${join(dataDir, "lake.ducklake")}`);
}, 60_000);

test("two ferry runs of different data dirs started on one catalog before either rolled up: the later one's rollups fail, saying so, and its rows stay in its journal", async () => {
  const shared = tempDir();
  const at = { dataDir: shared, catalog: `sqlite:${join(shared, "lake.sqlite")}` };
  const catalog = catalogOf(at);
  const dataPath = { url: `${join(shared, "lake")}/` };
  const { log } = memoryLogger("error");
  const a = await openEmbeddedOrderSink({ ...opts(tempDir()), catalog, dataPath }, log);
  const bDir = tempDir();
  const b = await openEmbeddedOrderSink({ ...opts(bDir), catalog, dataPath }, log);
  await a.write(orders(3));
  await b.write(orders(2, 100));
  expect(await a.rollup()).toBe(3);
  await expect(b.rollup()).rejects.toThrow(/started in the lake by another writer/);
  await expect(b.rollup()).rejects.toThrow(/rolled up from another data dir .*one ferry run per catalog/);
  expect((await b.query("select count(*)::INT from ferry_journal")).rows).toEqual([[2]]);
  await a.close();
  await expect(b.close()).rejects.toThrow(/one ferry run per catalog/);
  expect(await lake(at)).toEqual([3, 3, 0, 2]);
  // b closed its files all the same; its rows wait in its journal.
  const db = await openDb(dataPaths(bDir).database, { readOnly: true });
  expect((await db.query("select count(*)::INT from ferry_journal")).rows).toEqual([[2]]);
  db.close();
}, 60_000);

test("queries through the sink: its own `orders` (every acknowledged order), the catalog's `lake`, and both at an earlier snapshot", async () => {
  const dataDir = tempDir();
  const { log } = memoryLogger("error");
  const sink = await openEmbeddedOrderSink(opts(dataDir), log);
  await sink.write(orders(4));
  await sink.rollup();
  const first = Number((await sink.query("select max(snapshot_id) from ducklake_snapshots('ferry_lake')")).rows[0]![0]);
  await sink.write([{ ...orders(1)[0]!, quantity: 9 }, ...orders(2, 4)]);
  // Not rolled yet: the local table has them, the lake not.
  expect((await sink.query("select count(*)::INT, sum(quantity)::INT from orders")).rows).toEqual([[6, 14]]);
  expect((await sink.query("select count(*)::INT from lake")).rows).toEqual([[4]]);
  await sink.rollup();
  expect((await sink.query("select count(*)::INT from lake")).rows).toEqual([[7]]);
  // At the first rollup's snapshot: `lake` then, and `orders` as the latest of that lake.
  const then = await sink.query("select (select count(*)::INT from lake), (select sum(quantity)::INT from orders)", {}, { version: first });
  expect(then.rows).toEqual([[4, 4]]);
  await expect(sink.query("select count(*) from lake", {}, { version: first + 100 })).rejects.toThrow(/No snapshot found at version/);
  await sink.close();
}, 60_000);

test("maintenance runs between rollups when due: the rollups' inlined rows are flushed into a Parquet file, the lake unchanged", async () => {
  const dataDir = tempDir();
  const { log, lines } = memoryLogger("info");
  const policy = { ...DEFAULT_MAINTENANCE, flushRows: 1, flushAgeMs: 0 };
  const sink = await openEmbeddedOrderSink({ ...opts(dataDir), rollupIntervalMs: 1000, maintenance: { policy, everyMs: 60_000 } }, log);
  await sink.write(orders(5));
  const deadline = Date.now() + 20_000;
  while (!lines.some((l) => l.includes('"msg":"lake maintained"')) && Date.now() < deadline) await Bun.sleep(50);
  await sink.write(orders(3, 5));
  await sink.close();
  expect(lines.filter((l) => l.includes('"msg":"lake maintained"'))).toHaveLength(1); // not again within everyMs
  expect(await lake(dataDir)).toEqual([8, 8, 0, 7]);
  const files = await queryCatalog(dataDir, "select count(*)::INT as n from ducklake_list_files('ferry_lake', 'lake')");
  expect(files.rows[0]!.n).toBeGreaterThanOrEqual(1);
}, 60_000);

test("a record the table refuses is quarantined with its reason; the others are applied; ferry starts again", async () => {
  const dataDir = tempDir();
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
}, 60_000);

test("a refused record still in the write-ahead log at start (a crash before it was applied) is quarantined: ferry starts, the orders around it are applied", async () => {
  const dataDir = tempDir();
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
}, 60_000);

test("a sequence is handed out once: the orders of a failed append (503) never share sequences with later ones", async () => {
  const dataDir = tempDir();
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
}, 60_000);
