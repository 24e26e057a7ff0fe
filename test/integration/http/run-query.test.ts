/** `ferry query` through a running `ferry run`: reads only, its own connection, a time limit, never in the writer's way. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  test("--query-access locked: no file beyond the data dir and the lake; the table, the lake view and the writer's rollups work", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir, "--query-access", "locked", "--interval", "300ms"));
    try {
      expect((await postOrders(ferry.url, Array.from({ length: 20 }, (_, i) => order(`l-${i}`)))).status).toBe(202);
      const denied = await runFerry(["query", "--data-dir", dataDir, "select * from read_text('/etc/hostname')"]);
      expect(denied.code).toBe(1);
      expect(denied.err).toMatch(/^ferry: duckdb: Permission Error: Cannot access file "\/etc\/hostname" - file system operations are disabled by configuration/);
      expect((await runFerry(["query", "--data-dir", dataDir, "select * from read_csv('/etc/passwd')"])).err).toContain("Permission Error");
      expect((await runFerry(["query", "--data-dir", dataDir, "select * from read_text('https://example.com/')"])).err).toContain("Permission Error");
      expect(await count(dataDir)).toBe(20);
      // The writer rolls into the lake (COPY into the data dir's staging folder) under the lockdown.
      const deadline = Date.now() + 15_000;
      let lake = 0;
      while (lake < 20 && Date.now() < deadline) {
        await Bun.sleep(200);
        lake = await count(dataDir, "select count(*) from lake");
      }
      expect(lake).toBe(20);
      expect((await postOrders(ferry.url, order("l-after"))).status).toBe(202);
      expect(await count(dataDir)).toBe(21);
      expect(ferry.stderr()).toContain("queries locked down");
    } finally {
      expect(await ferry.stop()).toBe(0);
    }
    expect(await count(dataDir, "select count(*) from lake")).toBe(21); // rolled on shutdown, still under the lockdown
  }, 60_000);
});
