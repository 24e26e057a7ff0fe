/**
 * `ferry run` killed with SIGKILL under load, again and again: every order answered 202 is in the
 * orders table and exactly once in the lake, and no order is in the lake twice (the write-ahead
 * log is replayed after each kill, the lake rollups redone exactly).
 */
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { order, postOrders, startFerry } from "../../helpers/ferry-process.ts";
import { readLake, readTable } from "../../helpers/sink.ts";

const KILLS = 5;

test(`kill -9 under load, ${KILLS} times: every 202 is in the table, and in the lake exactly once`, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-run-kills-"));
  const args = ["run", "--data-dir", dataDir, "--port", "0", "--interval", "200ms"];
  const acked = new Set<string>();
  let answered = 0;
  for (let round = 0; round < KILLS; round++) {
    const ferry = await startFerry(args);
    let stop = false;
    const clients = Array.from({ length: 16 }, async (_, c) => {
      for (let i = 0; !stop; i++) {
        const id = `k${round}-c${c}-${i}`;
        try {
          const res = await postOrders(ferry.url, order(id));
          await res.arrayBuffer();
          answered++;
          if (res.status === 202) acked.add(id);
        } catch {
          // the connection died with the process: not acknowledged
        }
      }
    });
    await Bun.sleep(600 + round * 150);
    ferry.proc.kill("SIGKILL");
    await ferry.proc.exited;
    stop = true;
    await Promise.all(clients);
  }
  // A last start recovers; a clean stop rolls everything into the lake.
  const last = await startFerry(args);
  expect(await last.stop()).toBe(0);
  expect(last.stderr()).toContain("applied orders from the write-ahead log");

  const table = new Set((await readTable(dataDir, "SELECT order_id FROM orders")).map((r) => String(r.order_id)));
  const lakeCounts = new Map<string, number>();
  for (const r of (await readLake([join(dataDir, "lake")])).rows) lakeCounts.set(String(r.order_id), (lakeCounts.get(String(r.order_id)) ?? 0) + 1);
  const missingInTable = [...acked].filter((id) => !table.has(id));
  const missingInLake = [...acked].filter((id) => !lakeCounts.has(id));
  const twiceInLake = [...lakeCounts].filter(([, n]) => n > 1).map(([id]) => id);
  console.log(`run kills: ${KILLS} kills, ${answered} answered, ${acked.size} acknowledged; table ${table.size} rows, lake ${lakeCounts.size} orders; lost ${missingInTable.length}/${missingInLake.length}, twice ${twiceInLake.length}`);
  expect(acked.size).toBeGreaterThan(1000);
  expect(missingInTable).toEqual([]);
  expect(missingInLake).toEqual([]);
  expect(twiceInLake).toEqual([]);
  // What the lake holds, the table holds (an order written but not answered may be in both, never in one only).
  expect([...lakeCounts.keys()].filter((id) => !table.has(id))).toEqual([]);
  expect(lakeCounts.size).toBe(table.size);
}, 120_000);
