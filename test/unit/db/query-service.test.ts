/** The running ferry's query service: its own connection per query, beside the writer; the locked setting; closing under a query. */
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createMutex, type Db, openDb, sqlString } from "../../../src/db/duckdb.ts";
import { servedQueries, queryService } from "../../../src/db/query-service.ts";
import { QueryRefusedError, QueryTimeoutError } from "../../../src/db/read-only-query.ts";

/** Offers nothing (the writer's own tables only). */
const NOTHING = async () => {};
/** The view `lake` over a folder's Parquet files (as a catalog's files would be read). */
const filesLake = (dir: string) => (conn: Db) => conn.exec(`CREATE OR REPLACE TEMP VIEW lake AS SELECT * FROM read_parquet(${sqlString(join(dir, "**", "*.parquet"))})`);
const SLOW = "SELECT count(*) FROM range(1000000000) a, range(1000000000) b";

async function writerDb() {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-qs-"));
  const db = await openDb(join(dataDir, "ferry.duckdb"));
  await db.exec("SET threads = 1");
  await db.exec("CREATE TABLE orders (order_id VARCHAR PRIMARY KEY, quantity INTEGER)");
  return { dataDir, db };
}

test("a slow query holds neither the writer's lock nor its connection: writes commit meanwhile; `before` runs first", async () => {
  const { dataDir, db } = await writerDb();
  const exclusive = createMutex();
  let applied = 0;
  const service = queryService(db, { lockdown: { dirs: [dataDir] }, offer: NOTHING, before: () => exclusive(async () => void applied++) });
  const slow = service(SLOW, { timeoutMs: 2500 }).catch((e: unknown) => e);
  await Bun.sleep(200);
  const t0 = performance.now();
  let writes = 0;
  while (performance.now() - t0 < 1500) {
    await exclusive(() => db.transaction(() => db.exec(`INSERT INTO orders VALUES ('o-${writes}', ${writes++})`)));
  }
  expect(writes).toBeGreaterThan(20);
  expect((await service("SELECT count(*)::INT FROM orders")).rows).toEqual([[writes]]);
  expect(await slow).toBeInstanceOf(QueryTimeoutError);
  expect(applied).toBe(2);
  db.close();
}, 20_000);

test("closing the database while a query runs stops the query (no crash), and the writer's close is not held up", async () => {
  const { dataDir, db } = await writerDb();
  const service = queryService(db, { lockdown: { dirs: [dataDir] }, offer: NOTHING });
  const slow = service(SLOW, { timeoutMs: 20_000 }).then(
    () => "ran",
    (e: unknown) => String(e),
  );
  await Bun.sleep(300);
  const t0 = performance.now();
  db.close();
  expect(await slow).toMatch(/INTERRUPT|closed/);
  expect(performance.now() - t0).toBeLessThan(3000);
  // The file is free again: another open works.
  const again = await openDb(join(dataDir, "ferry.duckdb"));
  expect((await again.query("SELECT count(*)::INT FROM orders")).rows).toEqual([[0]]);
  again.close();
});

test("locked: files beyond the data dir and the lake are refused; the writer still reads and writes its own (a relative lake path too)", async () => {
  const { dataDir, db } = await writerDb();
  const lakeDir = join(mkdtempSync(join(tmpdir(), "ferry-qs-lake-")), "lake");
  mkdirSync(join(lakeDir, "orders", "date=2026-01-01"), { recursive: true });
  await db.exec(`COPY (SELECT range AS kafka_offset FROM range(3)) TO ${sqlString(join(lakeDir, "orders", "date=2026-01-01", "part-0.parquet"))} (FORMAT parquet)`);
  const service = queryService(db, { lockdown: { dirs: [dataDir, relative(process.cwd(), lakeDir)] }, offer: filesLake(relative(process.cwd(), lakeDir)) });
  const served = servedQueries(service, { timeoutMs: 5000, maxRows: 100, access: "locked" });
  await expect(served("SELECT * FROM read_text('/etc/hostname')")).rejects.toThrow(/Permission Error: Cannot access file "\/etc\/hostname"/);
  expect((await served("SELECT count(*)::INT FROM lake")).rows).toEqual([[3]]);
  expect((await served("SELECT count(*)::INT FROM orders")).rows).toEqual([[0]]);
  // The writer's own work under the lockdown: a file in the data dir read, lake files written and read.
  await Bun.write(join(dataDir, "rows.ndjson"), '{"order_id":"w-1","quantity":5}\n');
  await db.exec(`INSERT INTO orders SELECT * FROM read_json(${sqlString(join(dataDir, "rows.ndjson"))}, columns = {order_id: 'VARCHAR', quantity: 'INTEGER'})`);
  await db.exec(`COPY (SELECT 7 AS kafka_offset) TO ${sqlString(join(lakeDir, "orders", "date=2026-01-01", "part-1.parquet"))} (FORMAT parquet)`);
  expect((await served("SELECT count(*)::INT FROM lake")).rows).toEqual([[4]]);
  expect((await served("SELECT order_id FROM orders")).rows).toEqual([["w-1"]]);
  await expect(db.exec(`COPY orders TO ${sqlString(join(tmpdir(), "ferry-qs-elsewhere.csv"))}`)).rejects.toThrow(/Permission Error/);
  db.close();
});

test("open: a client asking for the locked setting is refused; its shorter time limit holds; more rows than the bound are refused", async () => {
  const { dataDir, db } = await writerDb();
  const served = servedQueries(queryService(db, { lockdown: { dirs: [dataDir] }, offer: NOTHING }), { timeoutMs: 30_000, maxRows: 10, access: "open" });
  await expect(served("SELECT 1", { access: "locked" })).rejects.toBeInstanceOf(QueryRefusedError);
  const t0 = performance.now();
  await expect(served(SLOW, { timeoutMs: 300 })).rejects.toThrow(/^the query ran longer than its time limit of 300ms/);
  expect(performance.now() - t0).toBeLessThan(3000);
  await expect(served("SELECT * FROM range(11)")).rejects.toThrow(/more than 10 rows/);
  expect((await served("SELECT count(*)::INT FROM read_text('/etc/hostname')")).rows).toEqual([[1]]);
  db.close();
});

test("a query at a snapshot goes to `offerAt`, after `offer`; a service without it refuses such a query, saying why", async () => {
  const { dataDir, db } = await writerDb();
  const offered: string[] = [];
  const service = queryService(db, {
    lockdown: { dirs: [dataDir] },
    offer: async (conn) => {
      offered.push("offer");
      await conn.exec("CREATE OR REPLACE TEMP VIEW lake AS SELECT 1 AS now");
    },
    offerAt: async (conn, at) => {
      offered.push(JSON.stringify(at));
      await conn.exec(`CREATE OR REPLACE TEMP VIEW lake AS SELECT ${"version" in at ? at.version : 0} AS now`);
    },
  });
  expect((await service("SELECT now FROM lake")).rows).toEqual([[1]]);
  expect((await service("SELECT now FROM lake", {}, { version: 7 })).rows).toEqual([[7]]);
  expect(offered).toEqual(["offer", "offer", '{"version":7}']);
  const served = servedQueries(queryService(db, { lockdown: { dirs: [dataDir] }, offer: NOTHING }), { timeoutMs: 5000, maxRows: 10, access: "open" });
  await expect(served("SELECT 1", { snapshot: { version: 1 } })).rejects.toThrow(/does not offer the lake at another snapshot/);
  await expect(served("SELECT 1", { snapshot: { version: 1 } })).rejects.toBeInstanceOf(QueryRefusedError);
  expect((await served("SELECT 1")).rows).toEqual([[1]]);
  db.close();
});
