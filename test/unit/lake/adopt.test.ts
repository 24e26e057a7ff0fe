/**
 * Upgrades lose and repeat nothing: a data dir and lake written by the previous release's own code
 * (its src/ from git history, run in a process of its own: test/helpers/legacy-ferry.ts) are adopted
 * into the DuckLake catalog — every committed record once in `lake` with its topic and date, files
 * of batches cut short not adopted, each partition continuing where the legacy lake says; once (a
 * second start does nothing), and whole or not at all (an error or a kill -9 in the middle).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openDb } from "../../../src/db/duckdb.ts";
import { ADOPT_FAULT_POINTS, AdoptionError, adoptLegacyLake, type AdoptOptions } from "../../../src/lake/adopt.ts";
import { openLakeBatchStore } from "../../../src/lake/batch-store.ts";
import { attachCatalog, type Catalog, catalogOf } from "../../../src/lake/catalog.ts";
import { createOffsetsSchema, moveOffsets, readOffsets } from "../../../src/lake/offsets.ts";
import { createLakeTables } from "../../../src/lake/tables.ts";
import { createDecoder } from "../../../src/pipeline/decode.ts";
import type { RecordKind } from "../../../src/schema/kinds.ts";
import { legacyFerry, writeLegacy } from "../../helpers/legacy-ferry.ts";
import { legacyCar, type LegacyPlan, type LegacyRange, legacyOrder } from "../../helpers/legacy-lake-writer.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const legacy = legacyFerry();
const skip = "skip" in legacy ? legacy.skip : undefined;
if (skip) console.warn(`adopt.test.ts: tests that need the previous release are skipped: ${skip}`);
const legacyDir = "dir" in legacy ? legacy.dir : "";
afterAll(() => {
  if ("remove" in legacy) legacy.remove();
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ferry-adopt-"));
  dirs.push(dir);
  return dir;
}
/** A new data dir (its parent holds the plan file) for the previous release to write. */
function dataDirIn(root: string, name = "data"): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** The catalog a store opens in `dataDir` (default catalog and lake unless given), its tables created. */
async function openCatalog(dataDir: string, catalog: Catalog = catalogOf({ dataDir }), kind: RecordKind = "orders"): Promise<Db> {
  const db = await openDb(":memory:");
  await db.exec("SET threads = 1");
  await attachCatalog(db, catalog, { url: `${dataDir}/lake/` });
  await createLakeTables(db, kind);
  await createOffsetsSchema(db);
  return db;
}
const adoptOptions = (dataDir: string, more: Partial<AdoptOptions> = {}): AdoptOptions => ({ dataDir, dataPath: { url: `${dataDir}/lake/` }, kind: "orders", writer: "test", ...more });

const range = (topic: string, partition: number, first: number, last: number): LegacyRange => ({ topic, partition, first, last });
const offsets = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

/** A sink's legacy lake with each kind of thing the previous release left (see the expectations below). */
const SEED = 11;
/** A second topic, with every kind of character a Kafka topic name may hold. */
const U = "u.v2_x-Y";
const sinkPlan = (dataDir: string): LegacyPlan => ({
  mode: "sink",
  dataDir,
  seed: SEED,
  steps: [
    { batch: [range("t", 0, 0, 39), range("t", 1, 0, 24), range("t", 2, 0, 9)] },
    { batch: [range("t", 0, 40, 59), range("t", 1, 25, 49)] },
    // No valid record: the data dir's offset moves past the lake's last marker.
    { batch: [range("t", 2, 10, 19)], invalid: true },
    // Cut short after its first file: that file has no marker.
    { batch: [range("t", 1, 50, 69)], crash: "between-files" },
    // Cut short after its files and marker, before the table: committed in the lake.
    { batch: [range(U, 0, 0, 29)], crash: "after-rename" },
    // A writer that lost its partition committed late: 70–79 twice in the lake.
    { batch: [range("t", 0, 60, 79)] },
    { batch: [range("t", 0, 70, 89)] },
    // A partition of a lake older than commit markers: the data dir's offset (30) says what is committed.
    { batch: [range("t", 3, 0, 29)] },
    { batch: [range("t", 3, 30, 49)], crash: "between-files" },
    { dropMarkers: { topic: "t", partition: 3 } },
    // More rows than the catalog inlines: the adoption writes Parquet files.
    { batch: [range("t", 4, 0, 2999)] },
  ],
});
/** What the adopted lake must hold: per partition, each committed offset once, and where it continues. */
const SINK_EXPECTED = {
  committed: { "t/0": offsets(0, 89), "t/1": offsets(0, 49), "t/2": offsets(0, 9), "t/3": offsets(0, 29), "t/4": offsets(0, 2999), [`${U}/0`]: offsets(0, 29) } as Record<string, number[]>,
  next: { "t/0": 90, "t/1": 50, "t/2": 20, "t/3": 30, "t/4": 3000, [`${U}/0`]: 30 } as Record<string, number>,
};

/** Every row of `lake`, as (topic/partition, offset, the order's fields, date) in order. */
async function lakeRows(db: Db) {
  const r = await db.query(
    `SELECT kafka_topic || '/' || kafka_partition, kafka_offset::BIGINT::INT, order_id, product, quantity::INT, price::DOUBLE, epoch_ms(ordered_at)::BIGINT::VARCHAR, date::VARCHAR FROM ferry_lake.main.lake ORDER BY kafka_topic, kafka_partition, kafka_offset`,
  );
  return r.rows.map(([tp, offset, id, product, quantity, price, at, date]) => ({ tp: String(tp), offset: Number(offset), id, product, quantity, price, at: Number(at), date }));
}

/** The rows a lake holding exactly `committed` must have (values from legacyOrder; the date is the UTC day of ordered_at). */
function expectedRows(seed: number, committed: Record<string, number[]>) {
  return Object.entries(committed)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([tp, offs]) =>
      offs.map((offset) => {
        const [topic, p] = tp.split("/") as [string, string];
        const o = legacyOrder(seed, topic, Number(p), offset);
        return { tp, offset, id: o.order_id, product: o.product, quantity: o.quantity, price: o.price, at: Date.parse(o.ordered_at), date: o.ordered_at.slice(0, 10) };
      }),
    );
}

const snapshotOf = async (db: Db) => Number((await db.query("SELECT id FROM ferry_lake.current_snapshot()")).rows[0]![0]);
const catalogState = async (db: Db) => ({
  rows: Number((await db.query("SELECT count(*) FROM ferry_lake.main.lake")).rows[0]![0]),
  offsets: Object.fromEntries(await readOffsets(db)),
});

describe.skipIf(skip !== undefined)("adopting the previous release's lake (its own code wrote it)", () => {
  let legacyLake = ""; // a sink's data dir as the previous release left it, written once
  beforeAll(() => {
    const root = mkdtempSync(join(tmpdir(), "ferry-adopt-legacy-"));
    legacyLake = dataDirIn(root);
    writeLegacy(legacyDir, sinkPlan(legacyLake));
  }, 120_000);
  afterAll(() => rmSync(join(legacyLake, ".."), { recursive: true, force: true }));
  /** A copy of the legacy data dir to adopt (each test its own). */
  const copyOfLegacy = () => {
    const d = join(tempDir(), "data");
    spawnSync("cp", ["-a", legacyLake, d]);
    return d;
  };

  test("a sink's lake: every committed record once, with its topic and date; unmarked files left; each partition continues where the lake says; the orders as the previous release had them", async () => {
    const dataDir = copyOfLegacy();
    const { log, lines } = memoryLogger("notice");
    const db = await openCatalog(dataDir);
    const result = await adoptLegacyLake(db, adoptOptions(dataDir), log);
    expect(result.outcome).toBe("adopted");
    expect(result.left).toBe(2);
    expect(await lakeRows(db)).toEqual(expectedRows(SEED, SINK_EXPECTED.committed));
    expect(Object.fromEntries(await readOffsets(db))).toEqual(SINK_EXPECTED.next);
    expect(result.rows).toBe(Object.values(SINK_EXPECTED.committed).flat().length);
    // The date is the legacy file's own folder, offset by offset.
    const folders = await db.query(
      `SELECT count(*) FROM ferry_lake.main.lake l JOIN (SELECT regexp_extract(filename, '/lake/([^/]+)/date=', 1) AS topic, kafka_partition, kafka_offset, regexp_extract(filename, 'date=([0-9-]+)/', 1) AS folder FROM read_parquet('${dataDir}/lake/*/date=*/part-*.parquet', filename = true, hive_partitioning = false)) f ON f.topic = l.kafka_topic AND f.kafka_partition = l.kafka_partition AND f.kafka_offset = l.kafka_offset WHERE f.folder <> l.date::VARCHAR`,
    );
    expect(folders.rows[0]![0]).toBe("0");
    // What is left was logged, file by file.
    const left = lines.filter((l) => l.includes("not adopted")).map((l) => JSON.parse(l));
    expect(left.map((l) => [l.partition, l.count])).toEqual([
      ["t/1", 1],
      ["t/3", 1],
    ]);
    expect(left[0].files[0]).toMatch(/\/lake\/t\/date=[\d-]+\/part-00001-00000000000000000050-00000000000000000069\.parquet$/);
    expect(lines.filter((l) => l.includes("overlap")).map((l) => [JSON.parse(l).partition, JSON.parse(l).ranges])).toEqual([["t/0", ["60-79", "70-89"]]]);
    // `orders` is the previous release's table (the lake's latest per id), plus U's orders, which it had not yet added from the lake.
    const ordersSql = (from: string) => `SELECT order_id, kafka_topic, kafka_partition::INT, kafka_offset::INT, product, quantity::INT, price::DOUBLE, ordered_at::VARCHAR FROM ${from} ORDER BY order_id`;
    await db.exec(`ATTACH '${dataDir}/ferry.duckdb' AS previous (READ_ONLY)`);
    const before = (await db.query(ordersSql("previous.main.orders"))).rows;
    const after = (await db.query(ordersSql("ferry_lake.main.orders"))).rows;
    expect(before.length).toBeGreaterThan(0);
    expect(after.filter((r) => r[1] === "t")).toEqual(before);
    expect(after.filter((r) => r[1] === U).length).toBe(13);
    db.close();
  });

  test("a second start adopts nothing and changes nothing", async () => {
    const dataDir = copyOfLegacy();
    let db = await openCatalog(dataDir);
    expect((await adoptLegacyLake(db, adoptOptions(dataDir), memoryLogger().log)).outcome).toBe("adopted");
    const state = await catalogState(db);
    const snapshot = await snapshotOf(db);
    db.close();
    db = await openCatalog(dataDir);
    const { log, lines } = memoryLogger("info");
    expect(await adoptLegacyLake(db, adoptOptions(dataDir), log)).toEqual({ outcome: "already", files: 0, rows: 0, left: 0, offsets: [] });
    expect(await snapshotOf(db)).toBe(snapshot);
    expect(await catalogState(db)).toEqual(state);
    expect(lines).toEqual([]);
    db.close();
  });

  for (const point of ADOPT_FAULT_POINTS) {
    test(`an adoption that fails at ${point} leaves nothing adopted; the next one is exact`, async () => {
      const dataDir = copyOfLegacy();
      let db = await openCatalog(dataDir);
      const snapshot = await snapshotOf(db);
      const fault = (p: string) => {
        if (p === point) throw new Error(`died at ${p}`);
      };
      await expect(adoptLegacyLake(db, adoptOptions(dataDir, { fault }), memoryLogger().log)).rejects.toThrow(`died at ${point}`);
      expect(await snapshotOf(db)).toBe(snapshot);
      expect(await catalogState(db)).toEqual({ rows: 0, offsets: {} });
      db.close();
      db = await openCatalog(dataDir);
      expect((await adoptLegacyLake(db, adoptOptions(dataDir), memoryLogger().log)).outcome).toBe("adopted");
      expect(await lakeRows(db)).toEqual(expectedRows(SEED, SINK_EXPECTED.committed));
      expect(Object.fromEntries(await readOffsets(db))).toEqual(SINK_EXPECTED.next);
      db.close();
    });
  }

  for (const point of ["inserted", "before-commit"] as const) {
    test(`kill -9 at ${point} (files written, nothing committed): nothing adopted; the next start is exact`, async () => {
      const dataDir = copyOfLegacy();
      const r = spawnSync(process.execPath, [join(import.meta.dir, "../../helpers/adopt-main.ts"), dataDir, point], { encoding: "utf8", timeout: 60_000 });
      expect(r.signal).toBe("SIGKILL");
      expect(r.stderr).toContain("adopting the previous release's lake");
      // The transaction had written its Parquet files (more rows than the catalog inlines) when it died.
      expect(readdirSync(join(dataDir, "lake/main/lake"), { recursive: true }).filter((f) => String(f).endsWith(".parquet")).length).toBeGreaterThan(0);
      const db = await openCatalog(dataDir);
      expect(await catalogState(db)).toEqual({ rows: 0, offsets: {} });
      expect((await adoptLegacyLake(db, adoptOptions(dataDir), memoryLogger().log)).outcome).toBe("adopted");
      expect(await lakeRows(db)).toEqual(expectedRows(SEED, SINK_EXPECTED.committed));
      expect(Object.fromEntries(await readOffsets(db))).toEqual(SINK_EXPECTED.next);
      db.close();
    }, 60_000);
  }

  test("two writers adopting at once (a SQLite catalog): one adopts, the other finds it done; the lake is exact", async () => {
    const dataDir = copyOfLegacy();
    const catalog = catalogOf({ dataDir, catalog: `sqlite:${join(dataDir, "catalog.sqlite")}` });
    const [a, b] = [await openCatalog(dataDir, catalog), await openCatalog(dataDir, catalog)];
    const logs = [memoryLogger("notice"), memoryLogger("notice")];
    const results = await Promise.all([a, b].map((db, i) => adoptLegacyLake(db, adoptOptions(dataDir), logs[i]!.log)));
    expect(results.map((r) => r.outcome).sort()).toEqual(["adopted", "already"]);
    // Both had found it not done and tried: the catalog let one commit.
    const loser = logs[results.findIndex((r) => r.outcome === "already")]!.lines;
    expect(loser.some((l) => l.includes("adopting the previous release's lake"))).toBe(true);
    expect(loser.some((l) => l.includes("adopted by another writer meanwhile"))).toBe(true);
    expect(await lakeRows(a)).toEqual(expectedRows(SEED, SINK_EXPECTED.committed));
    expect(Object.fromEntries(await readOffsets(b))).toEqual(SINK_EXPECTED.next);
    a.close();
    b.close();
  }, 60_000);

  test("the sink continues from the adopted offsets: a store opened after adoption resumes each partition where the lake says", async () => {
    const dataDir = copyOfLegacy();
    const db = await openCatalog(dataDir);
    await adoptLegacyLake(db, adoptOptions(dataDir), memoryLogger().log);
    db.close();
    const store = await openLakeBatchStore({ dataDir, catalog: catalogOf({ dataDir }), dataPath: { url: `${dataDir}/lake/` }, writer: "next", kind: "orders", memoryLimitMb: 256, threads: 1 }, memoryLogger().log);
    await store.recover("t", [0, 1, 2, 3, 4]);
    await store.recover(U, [0]);
    expect(Object.fromEntries(["t/0", "t/1", "t/2", "t/3", "t/4", `${U}/0`].map((tp) => [tp, store.storedOffset(tp.split("/")[0]!, Number(tp.split("/")[1]))]))).toEqual(SINK_EXPECTED.next);
    // The batch cut short on t/1 (50–69) is read again from Kafka and lands once.
    const b = createDecoder("orders").newBatch();
    await b.add(
      "t",
      1,
      offsets(50, 69).map((o) => ({ key: null, offset: String(o), timestamp: "0", value: Buffer.from(JSON.stringify(legacyOrder(SEED, "t", 1, o))) })),
    );
    await store.write({ ...(await b.finish()), ranges: [{ topic: "t", partition: 1, firstOffset: 50, lastOffset: 69 }], sequence: 1 });
    const r = await store.query("SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT, min(kafka_offset)::INT, max(kafka_offset)::INT FROM lake WHERE kafka_topic = 't' AND kafka_partition = 1");
    expect(r.rows[0]).toEqual([70, 70, 0, 69]);
    await store.close();
  });

  test("a committed file that cannot be read stops the adoption with its name, and nothing is adopted", async () => {
    const dataDir = copyOfLegacy();
    const damaged = readdirSync(join(dataDir, "lake/t"), { recursive: true }).map(String).find((f) => f.endsWith("part-00000-00000000000000000000-00000000000000000039.parquet"))!;
    truncateSync(join(dataDir, "lake/t", damaged), 100);
    const db = await openCatalog(dataDir);
    const error = await adoptLegacyLake(db, adoptOptions(dataDir), memoryLogger().log).catch((e) => e);
    expect(error).toBeInstanceOf(AdoptionError);
    expect(error.message).toContain(damaged);
    expect(error.message).toContain("nothing was adopted");
    expect(await catalogState(db)).toEqual({ rows: 0, offsets: {} });
    db.close();
  });

  test("a catalog that already holds offsets for a legacy partition is refused, and nothing is adopted", async () => {
    const dataDir = copyOfLegacy();
    const db = await openCatalog(dataDir);
    // A writer that did not adopt first (what adoption at every store's open prevents).
    await db.transaction(() => moveOffsets(db, [{ topic: "t", partition: 0, from: undefined, to: 1 }], "early"));
    const error = await adoptLegacyLake(db, adoptOptions(dataDir), memoryLogger().log).catch((e) => e);
    expect(error).toBeInstanceOf(AdoptionError);
    expect(error.message).toContain("already holds offsets for t/0");
    expect(await catalogState(db)).toEqual({ rows: 0, offsets: { "t/0": 1 } });
    db.close();
  });
});

describe.skipIf(skip !== undefined)("adopting `ferry run`'s data dir (the previous release's own code wrote it)", () => {
  test("killed with rows in the journal and a rollup cut short: the rolled rows adopted, the cut-short rollup's files left, the lake continues at the journal", async () => {
    const dataDir = dataDirIn(tempDir());
    writeLegacy(legacyDir, { mode: "run", dataDir, seed: 5, steps: [{ orders: 1200 }, { rollup: true }, { orders: 700 }, { rollupCutShort: true }, { orders: 300 }, { applied: true }], end: "kill" });
    const { log, lines } = memoryLogger("notice");
    const db = await openCatalog(dataDir);
    const result = await adoptLegacyLake(db, adoptOptions(dataDir), log);
    expect(result.outcome).toBe("adopted");
    expect(await lakeRows(db)).toEqual(expectedRows(5, { "orders/0": offsets(0, 1199) }));
    expect(Object.fromEntries(await readOffsets(db))).toEqual({ "orders/0": 1200 });
    expect(result.left).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes("not adopted") && l.includes("still in ferry run's journal"))).toBe(true);
    // The journal still holds what the lake lacks: 1200 onwards.
    await db.exec(`ATTACH '${dataDir}/ferry.duckdb' AS previous (READ_ONLY)`);
    expect((await db.query("SELECT min(kafka_offset)::INT, max(kafka_offset)::INT, count(*)::INT FROM previous.main.ferry_journal")).rows[0]).toEqual([1200, 2199, 1000]);
    db.close();
  }, 60_000);

  test("closed cleanly (everything rolled): all of it adopted, the lake continues after the last sequence", async () => {
    const dataDir = dataDirIn(tempDir());
    writeLegacy(legacyDir, { mode: "run", dataDir, seed: 6, steps: [{ orders: 500 }, { rollup: true }, { orders: 250 }], end: "close" });
    const db = await openCatalog(dataDir);
    const result = await adoptLegacyLake(db, adoptOptions(dataDir), memoryLogger().log);
    expect([result.outcome, result.left]).toEqual(["adopted", 0]);
    expect(await lakeRows(db)).toEqual(expectedRows(6, { "orders/0": offsets(0, 749) }));
    expect(Object.fromEntries(await readOffsets(db))).toEqual({ "orders/0": 750 });
    db.close();
  }, 60_000);
});

describe.skipIf(skip !== undefined)("adopting `ferry run`'s data dir through the connection that holds its ferry.duckdb", () => {
  test("the catalog attached to the run's own database: the same adoption, read through it", async () => {
    const dataDir = dataDirIn(tempDir());
    writeLegacy(legacyDir, { mode: "run", dataDir, seed: 8, steps: [{ orders: 300 }, { rollup: true }, { orders: 40 }, { applied: true }], end: "kill" });
    // As ferry run may open it: ferry.duckdb as the main database, the catalog beside it.
    const db = await openDb(join(dataDir, "ferry.duckdb"));
    await attachCatalog(db, catalogOf({ dataDir }), { url: `${dataDir}/lake/` });
    await createLakeTables(db, "orders");
    await createOffsetsSchema(db);
    const result = await adoptLegacyLake(db, adoptOptions(dataDir, { legacyDb: db }), memoryLogger().log);
    expect([result.outcome, result.left]).toEqual(["adopted", 0]);
    expect(await lakeRows(db)).toEqual(expectedRows(8, { "orders/0": offsets(0, 299) }));
    expect(Object.fromEntries(await readOffsets(db))).toEqual({ "orders/0": 300 });
    db.close();
  }, 60_000);
});

describe.skipIf(skip !== undefined)("adopting a `cars` sink's lake (the previous release's own code wrote it)", () => {
  test("into car_lake, each car once, its date the UTC day it was received (as its folder says); a cut-short file left", async () => {
    const dataDir = dataDirIn(tempDir());
    writeLegacy(legacyDir, {
      mode: "sink",
      kind: "cars",
      dataDir,
      seed: 2,
      steps: [{ batch: [range("cars", 0, 0, 99), range("cars", 1, 0, 49)] }, { batch: [range("cars", 1, 50, 59)], crash: "between-files" }],
    });
    const db = await openCatalog(dataDir, catalogOf({ dataDir }), "cars");
    const result = await adoptLegacyLake(db, adoptOptions(dataDir, { kind: "cars" }), memoryLogger().log);
    expect([result.outcome, result.rows, result.left]).toEqual(["adopted", 150, 1]);
    const rows = (await db.query("SELECT kafka_topic, kafka_partition::INT, kafka_offset::INT, id::BIGINT::VARCHAR, make, model, year::INT FROM ferry_lake.main.car_lake ORDER BY 2, 3")).rows;
    const positions = [...offsets(0, 99).map((o) => [0, o] as const), ...offsets(0, 49).map((o) => [1, o] as const)];
    const car = (p: number, o: number, c = legacyCar(2, p, o)) => ["cars", p, o, String(c.id), c.make, c.model, c.year];
    expect(rows).toEqual(positions.map(([p, o]) => car(p, o)));
    const dates = await db.query(
      `SELECT count(*)::INT, count(*) FILTER (WHERE l.date::VARCHAR = f.folder AND l.date = CAST(timezone('UTC', l.ingested_at) AS DATE))::INT FROM ferry_lake.main.car_lake l JOIN (SELECT kafka_partition, kafka_offset, regexp_extract(filename, 'date=([0-9-]+)/', 1) AS folder FROM read_parquet('${dataDir}/lake/cars/date=*/part-*.parquet', filename = true, hive_partitioning = false)) f USING (kafka_partition, kafka_offset)`,
    );
    expect(dates.rows[0]).toEqual([150, 150]);
    expect(Object.fromEntries(await readOffsets(db))).toEqual({ "cars/0": 100, "cars/1": 50 });
    db.close();
  }, 60_000);
});

describe("adopting when there is nothing of the previous release", () => {
  test("a new data dir: recorded as done at once (nothing listed again at the next start)", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("info");
    const db = await openCatalog(dataDir);
    expect(await adoptLegacyLake(db, adoptOptions(dataDir), log)).toEqual({ outcome: "adopted", files: 0, rows: 0, left: 0, offsets: [] });
    expect(lines).toEqual([]);
    expect((await adoptLegacyLake(db, adoptOptions(dataDir), log)).outcome).toBe("already");
    expect(await catalogState(db)).toEqual({ rows: 0, offsets: {} });
    db.close();
  });
});
