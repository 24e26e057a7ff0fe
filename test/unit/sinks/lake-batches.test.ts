/**
 * The lake + table store on its own (no Kafka): a batch cut short after its lake files were renamed
 * leaves files that the next process moves out of the lake before the partition is read again,
 * so the redone batch — even with other boundaries — is in the lake once.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDecoder, type SourceRecord } from "../../../src/pipeline/decode.ts";
import { type FaultPoint, type LakeBatchWrite, openLakeBatchStore } from "../../../src/sinks/lake-batches.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const decoder = createDecoder("orders");
/** A batch of orders o-<first>..o-<last> at those offsets of partition 0 of topic t. */
function batch(first: number, last: number, sequence: number): LakeBatchWrite {
  const b = decoder.newBatch();
  const msgs: SourceRecord[] = [];
  for (let o = first; o <= last; o++) {
    msgs.push({ key: null, offset: String(o), timestamp: "0", value: Buffer.from(JSON.stringify({ order_id: `o-${o % 7}`, product: "p", quantity: 1 + o, price: 1, ordered_at: `2026-03-0${1 + (o % 2)}T00:00:00Z` })) });
  }
  b.add("t", 0, msgs);
  return { ...b.finish(), ranges: [{ topic: "t", partition: 0, firstOffset: first, lastOffset: last }], sequence };
}

class Crash extends Error {}
const crashAt = (at: FaultPoint) => (point: FaultPoint) => {
  if (point === at) throw new Crash(point);
};

describe("lake batch store", () => {
  test("files of a batch whose table commit never happened are moved out; the redo is exact", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ferry-store-"));
    dirs.push(dataDir);
    const { log, lines } = memoryLogger("notice");
    let store = await openLakeBatchStore({ dataDir, kind: "orders", memoryLimitMb: 256, threads: 1, fault: crashAt("after-rename") }, log);
    store.recover("t", [0]);
    await expect(store.write(batch(0, 9, 1))).rejects.toBeInstanceOf(Crash);
    await store.close();
    expect(readdirSync(join(dataDir, "lake/t")).sort()).toEqual(["date=2026-03-01", "date=2026-03-02"]);

    store = await openLakeBatchStore({ dataDir, kind: "orders", memoryLimitMb: 256, threads: 1 }, log);
    expect(store.storedOffset("t", 0)).toBe(0); // recorded before the first files were written
    store.recover("t", [0]);
    expect(lines.filter((l) => l.includes("moved the lake file")).length).toBe(2);
    expect(existsSync(join(dataDir, "lake-orphans/t/date=2026-03-01"))).toBe(true);
    // Redone with other boundaries: 0..4, then 5..12.
    await store.write(batch(0, 4, 1));
    await store.write(batch(5, 12, 2));
    const lake = await store.query("SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT, min(kafka_offset)::INT, max(kafka_offset)::INT FROM lake");
    expect(lake.rows[0]).toEqual([13, 13, 0, 12]);
    // The table: one row per order id, the latest offset's version.
    const table = await store.query("SELECT order_id, quantity, kafka_offset::INT FROM orders ORDER BY order_id");
    expect(table.rows).toEqual([0, 1, 2, 3, 4, 5, 6].map((k) => [`o-${k}`, 1 + (k + 7 <= 12 ? k + 7 : k), k + 7 <= 12 ? k + 7 : k]));
    expect(store.storedOffset("t", 0)).toBe(13);
    await store.close();
  });

  test("a crash after the table commit leaves nothing to redo", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ferry-store-"));
    dirs.push(dataDir);
    const { log } = memoryLogger();
    let store = await openLakeBatchStore({ dataDir, kind: "orders", memoryLimitMb: 256, threads: 1, fault: crashAt("after-commit") }, log);
    await expect(store.write(batch(0, 9, 1))).rejects.toBeInstanceOf(Crash);
    await store.close();
    store = await openLakeBatchStore({ dataDir, kind: "orders", memoryLimitMb: 256, threads: 1 }, log);
    store.recover("t", [0]);
    expect(store.storedOffset("t", 0)).toBe(10);
    expect((await store.query("SELECT count(*)::INT FROM lake")).rows[0]).toEqual([10]);
    await store.close();
  });

  test("lake files of a partition this database knows nothing of are left alone", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ferry-store-"));
    dirs.push(dataDir);
    const { log, lines } = memoryLogger();
    let store = await openLakeBatchStore({ dataDir, kind: "orders", memoryLimitMb: 256, threads: 1 }, log);
    await store.write(batch(0, 9, 1));
    await store.close();
    rmSync(join(dataDir, "ferry.duckdb"));
    store = await openLakeBatchStore({ dataDir, kind: "orders", memoryLimitMb: 256, threads: 1 }, log);
    store.recover("t", [0]);
    expect(lines.some((l) => l.includes("no offsets for"))).toBe(true);
    expect((await store.query("SELECT count(*)::INT FROM lake")).rows[0]).toEqual([10]);
    await store.close();
  });
});
