/**
 * Reading the catalog: `lake` and `orders` as views at a snapshot, and hostile snapshot times (a
 * client of the socket sends any text): each either names a time DuckDB reads as one, or is
 * refused with DuckDB's reason; no text runs as SQL of its own. FERRY_FUZZ_RUNS sets the runs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { type Db, openDb } from "../../../src/db/duckdb.ts";
import { attachCatalog, catalogOf, LAKE_DB } from "../../../src/lake/catalog.ts";
import { atSnapshotSql, lockdownGap, offerLakeViews, snapshotAtOf } from "../../../src/lake/read.ts";
import { createLakeTables, lakeDateSql } from "../../../src/lake/tables.ts";
import { ConfigError } from "../../../src/errors.ts";
import { QueryRefusedError } from "../../../src/db/read-only-query.ts";

const RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 300);
let db: Db;
let first: number;
let firstTime: string;

beforeAll(async () => {
  db = await openDb(":memory:");
  await attachCatalog(db, { kind: "duckdb", description: "memory", target: "ducklake::memory:" }, undefined);
  await createLakeTables(db, "orders");
  const insert = (id: string, q: number, offset: number) =>
    db.exec(
      `INSERT INTO ${LAKE_DB}.main.lake BY NAME SELECT *, ${lakeDateSql("orders")} AS date FROM (VALUES ('${id}', 'p', ${q}, 1.00, NULL, TIMESTAMPTZ '2026-01-01 00:00:00+00', 'orders', 0, ${offset}, now())) v(order_id, product, quantity, price, customer_id, ordered_at, kafka_topic, kafka_partition, kafka_offset, ingested_at)`,
    );
  await insert("a", 1, 0);
  const s = await db.query(`SELECT id FROM ${LAKE_DB}.current_snapshot()`);
  first = Number(s.rows[0]![0]);
  firstTime = String((await db.query(`SELECT snapshot_time::VARCHAR FROM ducklake_snapshots('${LAKE_DB}') WHERE snapshot_id = ${first}`)).rows[0]![0]);
  await Bun.sleep(5);
  await insert("a", 7, 1);
  await insert("b", 1, 2);
});
afterAll(() => db.close());

test("lake and orders at a snapshot: by version and by time, both tables then; without one, the newest lake", async () => {
  const conn = await db.connect();
  try {
    await offerLakeViews(conn);
    expect((await conn.query("SELECT count(*)::INT FROM lake")).rows).toEqual([[3]]);
    await offerLakeViews(conn, { version: first });
    expect((await conn.query("SELECT (SELECT count(*)::INT FROM lake), (SELECT count(*)::INT FROM orders), (SELECT quantity FROM orders)")).rows).toEqual([[1, 1, 1]]);
    await offerLakeViews(conn, { time: firstTime });
    expect((await conn.query("SELECT count(*)::INT FROM lake")).rows).toEqual([[1]]);
    await offerLakeViews(conn, { version: first + 2 });
    expect((await conn.query("SELECT order_id, quantity FROM orders ORDER BY 1")).rows).toEqual([
      ["a", 7],
      ["b", 1],
    ]);
    await expect(offerLakeViews(conn, { version: first + 99 })).rejects.toThrow(`No snapshot found at version ${first + 99}`);
  } finally {
    conn.close();
  }
}, 60_000);

test("hostile snapshot times: read as a time or refused with DuckDB's reason; never SQL of their own", async () => {
  const conn = await db.connect();
  await conn.exec("CREATE TEMP TABLE sentinel AS SELECT 1 AS x");
  const quoteHeavy = fc.string({ unit: fc.constantFrom("'", '"', ";", "-", ")", "(", " ", "\\", "\n", "0", "2", ":", "T", "Z", "+", "$", "\u0000"), maxLength: 30 });
  const nearTimes = fc.tuple(fc.integer({ min: 1, max: 9999 }), fc.string({ maxLength: 12 })).map(([y, rest]) => `${String(y).padStart(4, "0")}-01-01${rest}`);
  // Times of the right form, some impossible (month 13, hour 25, offset +99): DuckDB decides.
  const d2 = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
  const formed = fc
    .tuple(fc.integer({ min: 0, max: 9999 }), d2(19), d2(39), d2(29), d2(69), d2(69), fc.constantFrom("", "Z", "+00", "-05:30", "+99", "+14:00"), fc.boolean())
    .map(([y, mo, d, h, mi, s, zone, spaced]) => `${String(y).padStart(4, "0")}-${mo}-${d}${spaced ? " " : "T"}${h}:${mi}:${s}${zone}`);
  try {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: "binary" }), quoteHeavy, nearTimes, formed, formed, fc.constant(`'; DROP TABLE sentinel; --`)), async (time) => {
        try {
          await offerLakeViews(conn, { time });
          // Read as a time: at some snapshot there is a lake of 1 to 3 rows.
          const n = Number((await conn.query("SELECT count(*) FROM lake")).rows[0]![0]);
          expect(n >= 1 && n <= 3).toBe(true);
        } catch (e) {
          // Refused before any SQL (not a time's form), or a form DuckDB reads as no time or a time before the first snapshot.
          expect(e instanceof QueryRefusedError || /Conversion Error|No snapshot found|Out of Range/.test(String(e))).toBe(true);
        }
        expect((await conn.query("SELECT count(*)::INT FROM sentinel")).rows).toEqual([[1]]);
      }),
      { numRuns: RUNS },
    );
  } finally {
    conn.close();
  }
}, 60_000);

test("atSnapshotSql takes a time's form and a snapshot number only; snapshotAtOf takes one of --snapshot and --at", () => {
  expect(atSnapshotSql({ version: 3 })).toBe("AT (VERSION => 3)");
  expect(() => atSnapshotSql({ version: 3.5 })).toThrow(QueryRefusedError);
  expect(() => atSnapshotSql({ version: -1 })).toThrow(QueryRefusedError);
  expect(atSnapshotSql({ time: "2026-01-01 10:00:00+02" })).toBe("AT (TIMESTAMP => CAST('2026-01-01 10:00:00+02' AS TIMESTAMPTZ))");
  expect(() => atSnapshotSql({ time: "2026-01-01' OR 1=1" })).toThrow(/expected a date, or a date and time/);
  expect(snapshotAtOf({})).toBeUndefined();
  expect(snapshotAtOf({ snapshot: 4 })).toEqual({ version: 4 });
  expect(snapshotAtOf({ at: "2026-01-01" })).toEqual({ time: "2026-01-01" });
  expect(() => snapshotAtOf({ snapshot: 4, at: "2026-01-01" })).toThrow(ConfigError);
}, 60_000);

test("the locked setting holds only with a DuckDB-file catalog", () => {
  expect(lockdownGap(catalogOf({ dataDir: "/d" }))).toBeUndefined();
  expect(lockdownGap(catalogOf({ dataDir: "/d", catalog: "sqlite:/d/c.sqlite" }))).toContain("sqlite_scan");
  expect(lockdownGap(catalogOf({ dataDir: "/d", catalog: "postgres://u@h/db" }))).toContain("postgres_scan");
}, 60_000);
