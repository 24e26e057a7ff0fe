/** `ferry query` through a running `ferry run`: reads only, its own connection, a time limit, never in the writer's way. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogOf } from "../../../src/lake/catalog.ts";
import { INLINE_ROWS } from "../../../src/lake/tables.ts";
import { runQuery } from "../../../src/modes/query.ts";
import { order, postOrders, runFerry, startFerry } from "../../helpers/ferry-process.ts";

const newDataDir = () => mkdtempSync(join(tmpdir(), "ferry-run-query-"));
const runArgs = (dataDir: string, ...extra: string[]) => ["run", "--data-dir", dataDir, "--port", "0", ...extra];
const count = async (dataDir: string, sql = "select count(*) from orders") => Number((await runQuery(dataDir, sql)).rows[0]![0]);
const SLOW = "select count(*) from range(1000000000) a, range(1000000000) b";

describe("run: the query path cannot break the writer", () => {
  test("a slow query through ferry.sock stalls neither acknowledgements nor applies, and is stopped at its time limit", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir, "--query-timeout", "6s"));
    let n = 0;
    try {
      expect((await postOrders(ferry.url, order("before-0"))).status).toBe(202);
      const t0 = performance.now();
      const slow = runFerry(["query", "--data-dir", dataDir, SLOW]);
      await Bun.sleep(700); // the slow query is running on its connection now
      const latencies: number[] = [];
      const queryLatencies: number[] = [];
      const seen: number[] = [];
      const acknowledged: number[] = []; // rows acknowledged before each count
      let i = 0;
      while (performance.now() - t0 < 4500) {
        const s = performance.now();
        const res = await postOrders(ferry.url, [order(`during-${n++}`), order(`during-${n++}`)]);
        latencies.push(performance.now() - s);
        expect(res.status).toBe(202);
        // A query beside the slow one: it reads the rows just acknowledged (applied first), at once.
        if (++i % 3 === 0) {
          const q = performance.now();
          acknowledged.push(n + 1);
          seen.push(await count(dataDir));
          queryLatencies.push(performance.now() - q);
        }
        await Bun.sleep(30);
      }
      console.log(`during the slow query: ${n} orders posted (202 in at most ${Math.max(...latencies).toFixed(0)} ms), ${seen.length} counts (${seen.join(", ")}) in at most ${Math.max(...queryLatencies).toFixed(0)} ms`);
      const stillRunning = await Promise.race([slow.then(() => false), Bun.sleep(0).then(() => true)]);
      expect(stillRunning).toBe(true); // all of the above happened while the slow query ran
      // Rows kept landing: every count saw all that was acknowledged before it.
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen).toEqual(acknowledged);
      expect(Math.max(...latencies)).toBeLessThan(1000);
      // (a count waits for the writer's apply, which shares 2 cores with the slow query: slower, never stalled)
      expect(Math.max(...queryLatencies)).toBeLessThan(3000);

      const r = await slow;
      expect(r.code).toBe(1);
      expect(r.err).toStartWith("ferry: the query ran longer than its time limit of 6s and was stopped");
      expect(performance.now() - t0).toBeLessThan(12_000);
      expect(await count(dataDir)).toBe(n + 1);
    } finally {
      expect(await ferry.stop()).toBe(0);
    }
    // The writer closed cleanly: the rows are all there for a query without a running ferry.
    expect(await count(dataDir)).toBe(n + 1);
  }, 60_000);

  test("writes, settings and transactions are refused through the socket; nothing changes; a client's shorter limit holds", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir));
    try {
      expect((await postOrders(ferry.url, [order("a"), order("b")])).status).toBe(202);
      for (const sql of ["delete from orders", "update orders set quantity = 0", "drop table orders", "begin transaction", "set threads = 8", "attach ':memory:' as x", `copy orders to '${join(dataDir, "x.csv")}'`, "checkpoint", "select 1; delete from orders"]) {
        const r = await runFerry(["query", "--data-dir", dataDir, sql]);
        expect({ sql, code: r.code, err: r.err }).toEqual({ sql, code: 1, err: expect.stringMatching(/^ferry: refused: queries may only read/) });
      }
      expect(await count(dataDir)).toBe(2);
      expect(await count(dataDir, "select current_setting('threads')")).not.toBe(8);
      expect((await postOrders(ferry.url, order("c"))).status).toBe(202);
      expect(await count(dataDir)).toBe(3);
      const t0 = performance.now();
      const r = await runFerry(["query", "--data-dir", dataDir, "--timeout", "500ms", SLOW]);
      expect(r.err).toStartWith("ferry: the query ran longer than its time limit of 500ms and was stopped");
      expect(performance.now() - t0).toBeLessThan(5000);
      const locked = await runFerry(["query", "--data-dir", dataDir, "--access", "locked", "select 1"]);
      expect(locked.err).toStartWith("ferry: the running ferry answers queries with open access");
    } finally {
      expect(await ferry.stop()).toBe(0);
    }
  }, 60_000);

  test("--query-access locked (the catalog and its files outside the data dir): no file beyond the data dir and the lake; the table, the lake and the writer's rollups work", async () => {
    const dataDir = newDataDir();
    const elsewhere = mkdtempSync(join(tmpdir(), "ferry-run-query-catalog-"));
    const place = ["--catalog", join(elsewhere, "lake.ducklake"), "--lake", join(elsewhere, "files")];
    const count = async (dataDir: string, sql = "select count(*) from orders") => Number((await runQuery({ dataDir, catalog: catalogOf({ dataDir, catalog: place[1] }) }, sql)).rows[0]![0]);
    const ferry = await startFerry(runArgs(dataDir, "--query-access", "locked", "--interval", "300ms", "--maintain-every", "0", ...place));
    try {
      expect((await postOrders(ferry.url, Array.from({ length: 20 }, (_, i) => order(`l-${i}`)))).status).toBe(202);
      const denied = await runFerry(["query", "--data-dir", dataDir, "select * from read_text('/etc/hostname')"]);
      expect(denied.code).toBe(1);
      expect(denied.err).toMatch(/^ferry: duckdb: Permission Error: Cannot access file "\/etc\/hostname" - file system operations are disabled by configuration/);
      expect((await runFerry(["query", "--data-dir", dataDir, "select * from read_csv('/etc/passwd')"])).err).toContain("Permission Error");
      expect((await runFerry(["query", "--data-dir", dataDir, "select * from read_text('https://example.com/')"])).err).toContain("Permission Error");
      expect(await count(dataDir)).toBe(20);
      // The writer rolls into the catalog's lake (DuckLake's commits, a Parquet file past the inlining limit) under the lockdown.
      const deadline = Date.now() + 15_000;
      let lake = 0;
      while (lake < 20 && Date.now() < deadline) {
        await Bun.sleep(200);
        lake = await count(dataDir, "select count(*) from lake");
      }
      expect(lake).toBe(20);
      expect((await postOrders(ferry.url, order("l-after"))).status).toBe(202);
      expect(await count(dataDir)).toBe(21);
      expect((await postOrders(ferry.url, Array.from({ length: INLINE_ROWS + 1 }, (_, i) => order(`f-${i}`)))).status).toBe(202);
      expect(ferry.stderr()).toContain("queries locked down");
    } finally {
      expect(await ferry.stop()).toBe(0);
    }
    expect(ferry.stderr()).not.toContain("rollup failed");
    expect(await count(dataDir, "select count(*) from lake")).toBe(22 + INLINE_ROWS); // rolled on shutdown, still under the lockdown
    expect(await count(dataDir, "select count(*) from ducklake_list_files('ferry_lake', 'lake') where data_file like '%/files/%'")).toBe(1);
  }, 60_000);

  test("time travel through ferry.sock: --snapshot and --at read `lake` and `orders` (the catalog's) as of then, while ferry run writes", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir, "--interval", "300ms"));
    try {
      const q = async (sql: string, ...flags: string[]) => {
        const r = await runFerry(["query", "--data-dir", dataDir, "--format", "csv", ...flags, sql]);
        expect({ err: r.err, code: r.code }).toEqual({ err: "", code: 0 });
        return r.out.split("\n")[1]!;
      };
      const lakeReaches = async (n: number) => {
        const deadline = Date.now() + 15_000;
        while ((await count(dataDir, "select count(*) from lake")) < n && Date.now() < deadline) await Bun.sleep(100);
        expect(await count(dataDir, "select count(*) from lake")).toBe(n);
      };
      expect((await postOrders(ferry.url, [order("t-1", { quantity: 1 }), order("t-2")])).status).toBe(202);
      await lakeReaches(2);
      const first = await q("select max(snapshot_id) from ducklake_snapshots('ferry_lake')");
      const at = await q(`select snapshot_time from ducklake_snapshots('ferry_lake') where snapshot_id = ${first}`);
      expect((await postOrders(ferry.url, [order("t-1", { quantity: 5 }), order("t-3")])).status).toBe(202);
      await lakeReaches(4);
      const both = "select (select count(*) from lake) || ' ' || (select count(*) from orders) || ' ' || (select quantity from orders where order_id = 't-1')";
      expect(await q(both)).toBe("4 3 5"); // the run's own orders, the catalog's lake
      expect(await q(both, "--snapshot", first)).toBe("2 2 1"); // both the catalog's, at the first rollup
      expect(await q(both, "--at", at)).toBe("2 2 1");
      const missing = await runFerry(["query", "--data-dir", dataDir, "--snapshot", "100000", both]);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain("No snapshot found at version 100000");
    } finally {
      expect(await ferry.stop()).toBe(0);
    }
  }, 60_000);
});
