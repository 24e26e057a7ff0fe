/**
 * `ferry run` killed with SIGKILL: under load, again and again, and at each point of a rollup into
 * the catalog's lake (--crash-at). Every order answered 202 is in the orders table and exactly
 * once in the lake, and no order is in the lake twice (the write-ahead log is replayed after each
 * kill; journal rows the catalog took already are dropped, the others rolled up once).
 */
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROLLUP_FAULT_POINTS } from "../../../src/sinks/embedded-orders.ts";
import { type FerryProcess, order, postOrders, startFerry } from "../../helpers/ferry-process.ts";
import { catalogOffsets, readLake, readRunTable } from "../../helpers/sink.ts";

const KILLS = 5;

/** Posts single orders from `clients` loops until `stop()`; the ids answered 202 are added to `acked`. */
function load(ferry: FerryProcess, prefix: string, acked: Set<string>, clients = 16) {
  let stop = false;
  let answered = 0;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !stop; i++) {
      const id = `${prefix}-c${c}-${i}`;
      try {
        const res = await postOrders(ferry.url, order(id));
        await res.arrayBuffer();
        answered++;
        if (res.status === 202) acked.add(id);
      } catch {
        // the connection died with the process: not acknowledged
        if (ferry.proc.exitCode !== null || ferry.proc.signalCode !== null) return;
      }
    }
  });
  return async () => {
    stop = true;
    await Promise.all(loops);
    return answered;
  };
}

/** After a last clean start and stop: every acknowledged order in the table and once in the lake; the lake nothing the table lacks. */
async function expectExactlyOnce(dataDir: string, acked: Set<string>, label: string) {
  const table = new Set((await readRunTable(dataDir, "SELECT order_id FROM orders")).map((r) => String(r.order_id)));
  const lake = (await readLake(dataDir)).rows;
  const lakeCounts = new Map<string, number>();
  for (const r of lake) lakeCounts.set(String(r.order_id), (lakeCounts.get(String(r.order_id)) ?? 0) + 1);
  const missingInTable = [...acked].filter((id) => !table.has(id));
  const missingInLake = [...acked].filter((id) => !lakeCounts.has(id));
  const twiceInLake = [...lakeCounts].filter(([, n]) => n > 1).map(([id]) => id);
  console.log(`${label}: ${acked.size} acknowledged; table ${table.size} rows, lake ${lake.length} rows; lost ${missingInTable.length}/${missingInLake.length}, twice ${twiceInLake.length}`);
  expect(missingInTable).toEqual([]);
  expect(missingInLake).toEqual([]);
  expect(twiceInLake).toEqual([]);
  // What the lake holds, the table holds (an order written but not answered may be in both, never in one only).
  expect([...lakeCounts.keys()].filter((id) => !table.has(id))).toEqual([]);
  expect(lakeCounts.size).toBe(table.size);
  // Each sequence once, and the catalog's offset just past the last.
  const offsets = lake.map((r) => Number(r.kafka_offset));
  expect(new Set(offsets).size).toBe(offsets.length);
  expect(await catalogOffsets(dataDir, "orders")).toEqual(new Map([[0, Math.max(...offsets) + 1]]));
}

test(`kill -9 under load, ${KILLS} times: every 202 is in the table, and in the lake exactly once`, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-run-kills-"));
  const args = ["run", "--data-dir", dataDir, "--port", "0", "--interval", "200ms"];
  const acked = new Set<string>();
  let answered = 0;
  for (let round = 0; round < KILLS; round++) {
    const ferry = await startFerry(args);
    const stop = load(ferry, `k${round}`, acked);
    await Bun.sleep(600 + round * 150);
    ferry.proc.kill("SIGKILL");
    await ferry.proc.exited;
    answered += await stop();
  }
  // A last start recovers; a clean stop rolls everything into the lake.
  const last = await startFerry(args);
  expect(await last.stop()).toBe(0);
  expect(last.stderr()).toContain("applied orders from the write-ahead log");
  expect(acked.size).toBeGreaterThan(1000);
  await expectExactlyOnce(dataDir, acked, `run kills: ${KILLS} kills, ${answered} answered`);
}, 120_000);

test("kill -9 at each point of a rollup (the first and the second of a process): every 202 is in the table, and in the lake exactly once", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ferry-run-rollup-kills-"));
  const args = ["run", "--data-dir", dataDir, "--port", "0", "--interval", "300ms"];
  const acked = new Set<string>();
  let killed = 0;
  let dropped = 0;
  for (const point of ROLLUP_FAULT_POINTS) {
    for (const rollup of [1, 2]) {
      const ferry = await startFerry([...args, "--crash-at", `${point}:${rollup}`]);
      const stop = load(ferry, `${point}-${rollup}`, acked, 4);
      const ended = await Promise.race([ferry.proc.exited.then(() => true), Bun.sleep(20_000).then(() => false)]);
      await stop();
      if (!ended) throw new Error(`ferry was not killed at ${point}:${rollup} within 20 s:\n${ferry.stderr()}`);
      expect({ point, rollup, signal: ferry.proc.signalCode }).toEqual({ point, rollup, signal: "SIGKILL" });
      expect(ferry.stderr()).toContain('"msg":"crashing on purpose (--crash-at)"');
      killed++;
      // The next start finds what this kill left: after the catalog's commit, journal rows it holds already.
      const next = await startFerry(args);
      expect(await next.stop()).toBe(0);
      if (next.stderr().includes("dropped journal rows the catalog's lake holds already")) dropped++;
      expect(next.stderr()).not.toContain("rollup failed");
    }
  }
  expect(killed).toBe(ROLLUP_FAULT_POINTS.length * 2);
  // A kill after the catalog's commit and before the journal's drop leaves rows to drop: each such kill's restart dropped them.
  expect(dropped).toBe(2);
  expect(acked.size).toBeGreaterThan(100);
  await expectExactlyOnce(dataDir, acked, `run rollup kills: ${killed} kills`);
}, 300_000);
