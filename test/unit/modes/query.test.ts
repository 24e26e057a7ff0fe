/** `ferry query` over a real catalog (DuckLake on a DuckDB file or SQLite) and `ferry run`'s ferry.duckdb in a data dir. */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataPaths, openDb } from "../../../src/db/duckdb.ts";
import { attachCatalog, catalogOf, LAKE_DB } from "../../../src/lake/catalog.ts";
import { createLakeTables, lakeDateSql } from "../../../src/lake/tables.ts";
import { openEmbeddedOrderSink } from "../../../src/sinks/embedded-orders.ts";
import { cli } from "../../helpers/cli.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ferry-query-"));
  dirs.push(d);
  return d;
};

/** One order's lake row: order o<n> (quantity q) at offset n of orders/0, on `date`. */
const lakeRow = (n: number, q: number, date: string, id = `o${n}`) => `('${id}', 'tea', ${q}, 3.50, null, TIMESTAMPTZ '${date} 03:04:05+00', 'orders', 0, ${n}, now())`;

/**
 * Writes commits into a catalog as a sink would (each its own snapshot): the lake's rows of each
 * commit, given as VALUES tuples. Answers the snapshot of each commit.
 */
async function catalogWith(dataDir: string, commits: string[][], catalog?: string): Promise<number[]> {
  const db = await openDb(":memory:");
  try {
    await attachCatalog(db, catalogOf({ dataDir, catalog }), { url: `${join(dataDir, "lake")}/` });
    await createLakeTables(db, "orders");
    const snapshots: number[] = [];
    for (const rows of commits) {
      await db.exec(
        `INSERT INTO ${LAKE_DB}.main.lake BY NAME SELECT *, ${lakeDateSql("orders")} AS date FROM (VALUES ${rows.join(", ")}) v(order_id, product, quantity, price, customer_id, ordered_at, kafka_topic, kafka_partition, kafka_offset, ingested_at)`,
      );
      snapshots.push(Number((await db.query(`SELECT id FROM ${LAKE_DB}.current_snapshot()`)).rows[0]![0]));
    }
    return snapshots;
  } finally {
    db.close();
  }
}

test("a sink's data dir: the catalog's `lake` and `orders` (each id's latest), read-only", async () => {
  const dataDir = tempDir();
  await catalogWith(dataDir, [[lakeRow(0, 1, "2026-01-01"), lakeRow(1, 2, "2026-01-02"), lakeRow(2, 3, "2026-01-02", "o0")]]);
  const q = (sql: string, format = "csv") => cli(["query", "--data-dir", dataDir, "--format", format, sql]);
  expect(await q("select order_id, price, quantity from orders order by 1", "json")).toEqual({ code: 0, out: '{"order_id":"o0","price":"3.50","quantity":3}\n{"order_id":"o1","price":"3.50","quantity":2}\n', err: "" });
  expect((await q("select date, count(*) as n from lake group by 1 order by 1")).out).toBe("date,n\n2026-01-01,1\n2026-01-02,2\n");
  const write = await q("delete from lake");
  expect(write.code).toBe(1);
  expect(write.err).toBe(
    "ferry: refused: queries may only read (SELECT, FROM, WITH, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN), and this SQL holds another kind of statement (a write, a setting, a transaction, ATTACH, COPY, PRAGMA, …); nothing was run\n",
  );
  expect((await q("select count(*) as n from lake")).out).toBe("n\n3\n");
}, 60_000);

test("ferry run's data dir: its own `orders` (acknowledged, not yet rolled up too) beside the catalog's `lake`", async () => {
  const dataDir = tempDir();
  const sink = await openEmbeddedOrderSink({ dataDir, rollupIntervalMs: 3_600_000, lingerMs: 0, maxBatchRecords: 100 }, memoryLogger("error").log);
  await sink.write([{ order_id: "a", product: "tea", quantity: 1, price: 1, ordered_at: "2026-01-01T00:00:00Z" }]);
  await sink.close(); // rolls `a` up
  // The state of a kill before the next rollup: `b` acknowledged and in the table, not in the lake yet.
  const db = await openDb(dataPaths(dataDir).database);
  await db.exec(`INSERT INTO orders SELECT 'b', product, quantity, price, customer_id, ordered_at, kafka_topic, kafka_partition, 1, ingested_at FROM orders`);
  await db.exec(`INSERT INTO ferry_journal SELECT * FROM orders WHERE order_id = 'b'`);
  db.close();
  const q = (sql: string, ...flags: string[]) => cli(["query", "--data-dir", dataDir, "--format", "csv", ...flags, sql]);
  expect((await q("select string_agg(order_id, ' ' order by order_id) as ids from orders")).out).toBe("ids\na b\n");
  expect((await q("select string_agg(order_id, ' ' order by order_id) as ids from lake")).out).toBe("ids\na\n");
  expect((await q("select count(*) as n from rejected")).out).toBe("n\n0\n"); // the run's quarantine is there too
  expect((await q("select count(*) as n from ferry_lake.orders")).out).toBe("n\n1\n"); // and the catalog's view
  // At a snapshot, both tables are the catalog's then.
  expect((await q("select string_agg(order_id, ' ' order by order_id) as ids from orders", "--snapshot", "100")).err).toContain("No snapshot found at version 100");
  const last = (await q("select max(snapshot_id) as s from ducklake_snapshots('ferry_lake')")).out.split("\n")[1]!;
  expect((await q("select string_agg(order_id, ' ' order by order_id) as ids from orders", "--snapshot", last)).out).toBe("ids\na\n");
  expect((await q("select count(*) as n from ferry.orders", "--snapshot", last)).out).toBe("n\n2\n");
  // Another start of ferry run rolls `b` up.
  await (await openEmbeddedOrderSink({ dataDir, rollupIntervalMs: 3_600_000, lingerMs: 0, maxBatchRecords: 100 }, memoryLogger("error").log)).close();
  expect((await q("select string_agg(order_id, ' ' order by order_id) as ids from lake")).out).toBe("ids\na b\n");
}, 60_000);

test("an empty data dir answers from memory: `lake` and `orders` exist, empty, with the catalog's columns; nothing is written", async () => {
  const dataDir = join(tempDir(), "missing");
  expect(await cli(["query", "--data-dir", dataDir, "--format", "csv", "select 42 as answer"])).toEqual({ code: 0, out: "answer\n42\n", err: "" });
  expect(await cli(["query", "--data-dir", dataDir, "--format", "csv", "select count(*) as n from orders"])).toEqual({ code: 0, out: "n\n0\n", err: "" });
  expect(await cli(["query", "--data-dir", dataDir, "--format", "csv", "select date, count(*) from lake group by 1"])).toEqual({ code: 0, out: "date,count_star()\n", err: "" });
  const cols = await cli(["query", "--data-dir", dataDir, "--format", "csv", "select column_name, column_type from (describe lake) order by all"]);
  expect(cols.out).toContain("ordered_at,TIMESTAMP WITH TIME ZONE");
  expect(cols.out).toContain('price,"DECIMAL(12,2)"');
  expect(cols.out).toContain("kafka_offset,BIGINT");
  expect(cols.out).toContain("kafka_topic,VARCHAR");
  expect(cols.out).toContain("date,DATE");
  expect(existsSync(dataDir)).toBe(false);
  const travel = await cli(["query", "--data-dir", dataDir, "--snapshot", "1", "select 1"]);
  expect(travel.code).toBe(2);
  expect(travel.err).toContain("no snapshot to read");
}, 60_000);

test("a SQL error says where it broke, with exit code 1", async () => {
  const r = await cli(["query", "--data-dir", join(tempDir(), "none"), "selec 1"]);
  expect(r.code).toBe(1);
  expect(r.out).toBe("");
  expect(r.err).toMatch(/^ferry: duckdb: Parser Error: syntax error at or near "selec"\n.*LINE 1: selec 1/s);
}, 60_000);

test("--timeout stops a query that runs too long, with a clear error", async () => {
  const t0 = performance.now();
  const r = await cli(["query", "--data-dir", join(tempDir(), "none"), "--timeout", "300ms", "select count(*) from range(1000000000) a, range(1000000000) b"]);
  expect(r.code).toBe(1);
  expect(r.err).toStartWith("ferry: the query ran longer than its time limit of 300ms and was stopped");
  expect(performance.now() - t0).toBeLessThan(5000);
}, 60_000);

test("time travel: --snapshot N and --at TIME read `lake` and `orders` as of that snapshot, both", async () => {
  const dataDir = tempDir();
  const [s1, s2] = (await catalogWith(dataDir, [[lakeRow(0, 1, "2026-01-01"), lakeRow(1, 1, "2026-01-01")], [lakeRow(2, 5, "2026-01-02", "o0"), lakeRow(3, 1, "2026-01-02")]])) as [number, number];
  const both = "select (select count(*) from lake) as lake, (select count(*) from orders) as orders, (select quantity from orders where order_id = 'o0') as q";
  const q = (...args: string[]) => cli(["query", "--data-dir", dataDir, "--format", "csv", ...args]);
  expect((await q(both)).out).toBe("lake,orders,q\n4,3,5\n");
  expect((await q("--snapshot", String(s2), both)).out).toBe("lake,orders,q\n4,3,5\n");
  expect((await q("--snapshot", String(s1), both)).out).toBe("lake,orders,q\n2,2,1\n");
  const t1 = (await q(`select snapshot_time::VARCHAR as t from ducklake_snapshots('ferry_lake') where snapshot_id = ${s1}`)).out.split("\n")[1]!;
  expect((await q("--at", t1, both)).out).toBe("lake,orders,q\n2,2,1\n");
  expect((await q("--at", t1.replace(" ", "T").replace(/\+00$/, "Z"), both)).out).toBe("lake,orders,q\n2,2,1\n");
  const missing = await q("--snapshot", String(s2 + 50), both);
  expect(missing.code).toBe(1);
  expect(missing.err).toContain(`No snapshot found at version ${s2 + 50}`);
  const early = await q("--at", "2000-01-01T00:00:00Z", both);
  expect(early.code).toBe(1);
  expect(early.err).toContain("No snapshot found at timestamp");
  const twice = await q("--snapshot", "1", "--at", "2026-01-01", both);
  expect(twice).toMatchObject({ code: 2, err: expect.stringContaining("give --snapshot or --at, not both") });
  expect((await q("--at", "yesterday", both)).code).toBe(2);
}, 60_000);

test("--catalog sqlite:PATH and a --lake that is not the catalog's", async () => {
  const dataDir = tempDir();
  const catalog = `sqlite:${join(tempDir(), "lake.sqlite")}`;
  await catalogWith(dataDir, [[lakeRow(0, 1, "2026-01-01")]], catalog);
  const q = (...args: string[]) => cli(["query", "--data-dir", dataDir, "--catalog", catalog, "--format", "csv", ...args]);
  expect((await q("select count(*) as n from orders")).out).toBe("n\n1\n");
  const other = await q("--lake", join(tempDir(), "elsewhere"), "select count(*) as n from lake");
  expect(other.code).toBe(1);
  expect(other.err).toContain("does not match existing data path");
}, 60_000);

test("--access locked (a DuckDB-file catalog outside the data dir): no other file, while lake files, inlined rows and orders read", async () => {
  const dataDir = tempDir();
  const catalog = join(tempDir(), "lake.ducklake");
  // One commit past the inlining limit (a Parquet file in the data path), one small one (inlined in the catalog).
  const many = Array.from({ length: 2500 }, (_, i) => lakeRow(i, 1, "2026-01-02"));
  await catalogWith(dataDir, [many, [lakeRow(2500, 1, "2026-01-03")]], catalog);
  const q = (sql: string, ...flags: string[]) => cli(["query", "--data-dir", dataDir, "--catalog", catalog, "--format", "csv", ...flags, sql]);
  expect((await q("select count(*) as n from ducklake_list_files('ferry_lake', 'lake')")).out).toBe("n\n1\n");
  expect((await q("select count(*) as n from read_text('/etc/hostname')")).out).toBe("n\n1\n"); // open (the default)
  const locked = await q("select * from read_text('/etc/hostname')", "--access", "locked");
  expect(locked.code).toBe(1);
  expect(locked.err).toMatch(/^ferry: duckdb: Permission Error: Cannot access file "\/etc\/hostname" - file system operations are disabled by configuration/);
  expect((await q("select * from read_csv('/etc/passwd')", "--access", "locked")).err).toContain("Permission Error");
  expect((await q("select count(*) as n from lake", "--access", "locked")).out).toBe("n\n2501\n");
  expect((await q("select count(*) as n from orders", "--access", "locked")).out).toBe("n\n2501\n");
  expect((await q("select count(*) as n from ducklake_snapshots('ferry_lake')", "--access", "locked")).code).toBe(0);
  // The extensions of the other catalogs are not loaded, and none is downloaded.
  expect((await q(`select * from sqlite_scan('${catalog}', 't')`, "--access", "locked")).err).toContain("Loading external extensions is disabled");
}, 60_000);

test("--access locked with a SQLite catalog is refused, saying why: its extension reads any SQLite file, lockdown or not", async () => {
  const dataDir = tempDir();
  const catalog = `sqlite:${join(tempDir(), "lake.sqlite")}`;
  await catalogWith(dataDir, [[lakeRow(0, 1, "2026-01-01")]], catalog);
  // Another SQLite file, outside the data dir and the lake: readable through the catalog's extension.
  const other = join(tempDir(), "other.sqlite");
  await catalogWith(tempDir(), [[lakeRow(0, 1, "2026-01-01")]], `sqlite:${other}`);
  const q = (sql: string, ...flags: string[]) => cli(["query", "--data-dir", dataDir, "--catalog", catalog, "--format", "csv", ...flags, sql]);
  expect((await q(`select count(*) > 0 as readable from sqlite_scan('${other}', 'ducklake_metadata')`)).out).toBe("readable\ntrue\n");
  const locked = await q("select count(*) from lake", "--access", "locked");
  expect(locked.code).toBe(2);
  expect(locked.err).toBe(
    "ferry: --access locked: the locked query setting cannot hold with a SQLite catalog, SQL can read any SQLite file this user can (sqlite_scan ignores the lockdown); it is refused rather than promised: use the default catalog (a DuckDB file) for locked queries, or run them open\n",
  );
}, 60_000);
