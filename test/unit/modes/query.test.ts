/** `ferry query` over a real DuckDB file and real Parquet files in a data dir. */
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataPaths, openDb, sqlString } from "../../../src/db/duckdb.ts";
import { ORDERS_TABLE_DDL } from "../../../src/schema/orders-table.ts";
import { cli } from "../../helpers/cli.ts";

/** A data dir holding one order (o1) and, per date, a lake file of that many rows. */
async function dataDirWith(lakeRows: Record<string, number>): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-query-"));
  const paths = dataPaths(dataDir);
  const db = await openDb(paths.database);
  await db.exec(ORDERS_TABLE_DDL);
  await db.exec(`insert into orders values ('o1', 'tea', 2, 3.50, null, '2026-01-02T03:04:05Z', 'orders', 0, 0, now())`);
  for (const [date, n] of Object.entries(lakeRows)) {
    const dir = join(paths.lake, "orders", `date=${date}`);
    mkdirSync(dir, { recursive: true });
    await db.exec(`copy (select range as kafka_offset from range(${n})) to ${sqlString(join(dir, "part-0.parquet"))} (format parquet)`);
  }
  db.close();
  return dataDir;
}

test("sees the orders table and the lake view, read-only", async () => {
  const dataDir = await dataDirWith({ "2026-01-01": 2, "2026-01-02": 3 });

  const orders = await cli(["query", "--data-dir", dataDir, "--format", "json", "select order_id, price, quantity from orders"]);
  expect(orders).toEqual({ code: 0, out: '{"order_id":"o1","price":"3.50","quantity":2}\n', err: "" });
  const lake = await cli(["query", "--data-dir", dataDir, "--format", "csv", "select date, count(*) as n from lake group by 1 order by 1"]);
  expect(lake.out).toBe("date,n\n2026-01-01,2\n2026-01-02,3\n");
  const write = await cli(["query", "--data-dir", dataDir, "delete from orders"]);
  expect(write.code).toBe(1);
  expect(write.err).toBe(
    "ferry: refused: queries may only read (SELECT, FROM, WITH, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN), and this SQL holds another kind of statement (a write, a setting, a transaction, ATTACH, COPY, PRAGMA, …); nothing was run\n",
  );
});

test("an empty data dir answers from an in-memory database", async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), "ferry-query-")), "missing");
  expect(await cli(["query", "--data-dir", dataDir, "--format", "csv", "select 42 as answer"])).toEqual({ code: 0, out: "answer\n42\n", err: "" });
});

test("a SQL error says where it broke, with exit code 1", async () => {
  const r = await cli(["query", "selec 1"]);
  expect(r.code).toBe(1);
  expect(r.out).toBe("");
  expect(r.err).toMatch(/^ferry: duckdb: Parser Error: syntax error at or near "selec"\n.*LINE 1: selec 1/s);
});

test("before anything was ingested, orders exists and is empty", async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), "ferry-query-")), "fresh");
  expect(await cli(["query", "--data-dir", dataDir, "--format", "csv", "select count(*) as n from orders"])).toEqual({ code: 0, out: "n\n0\n", err: "" });
});

test("before the first lake file, the lake view exists and is empty, with the lake's columns", async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), "ferry-query-")), "fresh");
  expect(await cli(["query", "--data-dir", dataDir, "--format", "csv", "select date, count(*) from lake group by 1"])).toEqual({ code: 0, out: "date,count_star()\n", err: "" });
  const cols = await cli(["query", "--data-dir", dataDir, "--format", "csv", "select column_name, column_type from (describe lake) order by all"]);
  expect(cols.out).toContain("ordered_at,TIMESTAMP WITH TIME ZONE");
  expect(cols.out).toContain("price,\"DECIMAL(12,2)\"");
  expect(cols.out).toContain("kafka_offset,BIGINT");
  expect(cols.out).not.toContain("kafka_topic");
});

test("--timeout stops a query that runs too long, with a clear error", async () => {
  const t0 = performance.now();
  const r = await cli(["query", "--timeout", "300ms", "select count(*) from range(1000000000) a, range(1000000000) b"]);
  expect(r.code).toBe(1);
  expect(r.err).toStartWith("ferry: the query ran longer than its time limit of 300ms and was stopped");
  expect(performance.now() - t0).toBeLessThan(5000);
});

test("--access locked: no file outside the data dir and the lake, while the table and the lake view work", async () => {
  const dataDir = await dataDirWith({ "2026-01-02": 4 });
  const q = (sql: string, ...flags: string[]) => cli(["query", "--data-dir", dataDir, "--format", "csv", ...flags, sql]);
  expect((await q("select count(*) as n from read_text('/etc/hostname')")).out).toBe("n\n1\n"); // open (the default)
  const locked = await q("select * from read_text('/etc/hostname')", "--access", "locked");
  expect(locked.code).toBe(1);
  expect(locked.err).toMatch(/^ferry: duckdb: Permission Error: Cannot access file "\/etc\/hostname" - file system operations are disabled by configuration/);
  expect((await q("select * from read_csv('/etc/passwd')", "--access", "locked")).err).toContain("Permission Error");
  expect((await q("select count(*) as n from orders", "--access", "locked")).out).toBe("n\n1\n");
  expect((await q("select count(*) as n from lake", "--access", "locked")).out).toBe("n\n4\n");
});
