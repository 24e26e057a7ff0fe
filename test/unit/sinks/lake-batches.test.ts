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
import type { DeadLetter } from "../../../src/sinks/dead-letters.ts";
import { openDb } from "../../../src/db/duckdb.ts";
import { ORDERS_TABLE_DDL } from "../../../src/schema/orders-table.ts";
import { type FaultPoint, type LakeBatchStoreOptions, type LakeBatchWrite, openLakeBatchStore } from "../../../src/sinks/lake-batches.ts";
import { dataDirLake } from "../../../src/sinks/lake-target.ts";
import type { Logger } from "../../../src/log/logger.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A new temporary folder, removed after the test. */
function tempDir(prefix = "ferry-store-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** The store of an orders sink in `dataDir` (256 MB, one thread), with these options besides. */
const openStore = (dataDir: string, log: Logger, more: Partial<LakeBatchStoreOptions> = {}) =>
  openLakeBatchStore({ dataDir, kind: "orders", memoryLimitMb: 256, threads: 1, ...more }, log);

const decoder = createDecoder("orders");
/** A batch of orders o-<id(offset)> at offsets first..last of partition 0 of topic t. */
async function batch(first: number, last: number, sequence: number, id = (o: number) => o % 7): Promise<LakeBatchWrite> {
  const b = decoder.newBatch();
  const msgs: SourceRecord[] = [];
  for (let o = first; o <= last; o++) {
    msgs.push({ key: null, offset: String(o), timestamp: "0", value: Buffer.from(JSON.stringify({ order_id: `o-${id(o)}`, product: "p", quantity: 1 + o, price: 1, ordered_at: `2026-03-0${1 + (o % 2)}T00:00:00Z` })) });
  }
  await b.add("t", 0, msgs);
  return { ...(await b.finish()), ranges: [{ topic: "t", partition: 0, firstOffset: first, lastOffset: last }], sequence };
}

class Crash extends Error {}
const crashAt = (at: FaultPoint) => (point: FaultPoint) => {
  if (point === at) throw new Crash(point);
};

describe("lake batch store", () => {
  test("files of a batch cut short before its marker are moved out; the redo is exact", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("notice");
    let store = await openStore(dataDir, log, { fault: crashAt("between-files") });
    await store.recover("t", [0]);
    await expect(store.write(batch(0, 9, 1))).rejects.toBeInstanceOf(Crash);
    await store.close();
    expect(readdirSync(join(dataDir, "lake/t")).length).toBe(1); // one of the batch's two files

    store = await openStore(dataDir, log);
    expect(store.storedOffset("t", 0)).toBe(0); // recorded before the first files were written
    await store.recover("t", [0]);
    expect(lines.filter((l) => l.includes("moved the lake file")).length).toBe(1);
    expect(existsSync(join(dataDir, "lake-orphans/t"))).toBe(true);
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

  test("a batch marked in the lake but cut short before its table transaction is added to the table from the lake", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("notice");
    let store = await openStore(dataDir, log, { fault: crashAt("after-rename") });
    await store.recover("t", [0]);
    await expect(store.write(batch(0, 9, 1, (o) => o))).rejects.toBeInstanceOf(Crash);
    await store.close();
    store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    expect(lines.some((l) => l.includes("moved the lake file"))).toBe(false);
    expect(lines.some((l) => l.includes("added to the table"))).toBe(true);
    expect(store.storedOffset("t", 0)).toBe(10);
    expect((await store.query("SELECT count(*)::INT, min(kafka_offset)::INT, max(kafka_offset)::INT FROM orders")).rows[0]).toEqual([10, 0, 9]);
    expect((await store.query("SELECT count(*)::INT FROM lake")).rows[0]).toEqual([10]);
    await store.close();
  });

  test("ids already in the table or twice in a batch: the table shows the latest offset", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    const table = async () => (await store.query("SELECT order_id, kafka_offset::INT FROM orders ORDER BY kafka_offset")).rows;
    await store.write(batch(0, 9, 1, (o) => o)); // all new: the plain insert
    expect(await table()).toEqual([...Array(10).keys()].map((o) => [`o-${o}`, o]));
    await store.write(batch(10, 14, 2, (o) => o - 8)); // o-2..o-6 again, and no new id
    expect(await table()).toEqual([0, 1, 7, 8, 9, 10, 11, 12, 13, 14].map((o) => [`o-${o < 10 ? o : o - 8}`, o]));
    for (let s = 3; s < 15; s++) await store.write(batch(s * 10, s * 10 + 9, s, (o) => 1000 + o)); // new ids, while the upserts are ahead and after
    await store.write(batch(150, 153, 15, (o) => 2000 + (o % 2))); // one id twice in a batch
    const rows = await table();
    expect(rows.length).toBe(10 + 120 + 2);
    expect(rows.slice(-2)).toEqual([["o-2000", 152], ["o-2001", 153]]);
    expect(store.storedOffset("t", 0)).toBe(154);
    expect((await store.query("SELECT count(*)::INT FROM lake")).rows[0]).toEqual([10 + 5 + 120 + 4]); // offsets 15..29 never fetched (compacted away, say)
    await store.close();
  });

  test("the table is the same before and after its recent ids are settled; settled ids have one row", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("info");
    const store = await openStore(dataDir, log, { settleMinRows: 25 });
    const view = async () => (await store.query("SELECT order_id, quantity, kafka_offset::INT FROM orders ORDER BY order_id")).rows;
    const expected = new Map<string, [number, number]>();
    // Ids repeat within and across batches (o % 17), including across merges.
    for (let b = 0; b < 8; b++) {
      const first = b * 10;
      await store.write(batch(first, first + 9, b + 1, (o) => o % 17));
      for (let o = first; o <= first + 9; o++) expected.set(`o-${o % 17}`, [1 + o, o]);
      expect(await view()).toEqual([...expected].sort(([a], [b]) => a.localeCompare(b)).map(([id, [q, o]]) => [id, q, o]));
    }
    await store.write(batch(80, 80, 9, () => 99)); // settles what the batches before it left
    expect(lines.filter((l) => l.includes("settled the recent orders")).length).toBeGreaterThanOrEqual(2);
    // Superseded rows were deleted (81 appended, 18 ids); the view still shows every id once.
    const [rows] = (await store.query("SELECT count(*)::INT FROM orders_rows")).rows[0]! as number[];
    expect(rows).toBeLessThan(81);
    expect(rows).toBeGreaterThanOrEqual(18);
    expect((await store.query("SELECT count(*)::INT, count(DISTINCT order_id)::INT FROM orders")).rows[0]).toEqual([18, 18]);
    expect((await store.query("SELECT count(*)::INT FROM lake")).rows[0]).toEqual([81]);
    await store.close();
  });

  test("a settling waits for the next batch: a stop leaves it to the next run, whose first batch settles", async () => {
    const dataDir = tempDir();
    const first = memoryLogger("info");
    const store = await openStore(dataDir, first.log, { settleMinRows: 25 });
    await store.write(batch(0, 19, 1, (o) => o % 7));
    await store.write(batch(20, 29, 2, (o) => o % 7)); // 30 recent ids: due
    await store.close();
    expect(first.lines.filter((l) => l.includes("settled the recent orders"))).toEqual([]);
    const again = memoryLogger("info");
    const reopened = await openStore(dataDir, again.log, { settleMinRows: 25 });
    expect((await reopened.query("SELECT count(*)::INT, count(DISTINCT order_id)::INT FROM orders")).rows[0]).toEqual([7, 7]);
    expect((await reopened.query("SELECT count(*)::INT FROM orders_rows")).rows[0]).toEqual([30]);
    await reopened.write(batch(30, 30, 3, () => 99));
    expect(again.lines.filter((l) => l.includes("settled the recent orders")).length).toBe(1);
    expect((await reopened.query("SELECT count(*)::INT FROM orders_rows")).rows[0]).toEqual([8]);
    expect((await reopened.query("SELECT count(*)::INT, count(DISTINCT order_id)::INT FROM orders")).rows[0]).toEqual([8, 8]);
    await reopened.close();
  });

  test("a data dir of an earlier ferry (orders as a keyed table) keeps its rows", async () => {
    const dataDir = tempDir();
    const old = await openDb(join(dataDir, "ferry.duckdb"));
    await old.exec(ORDERS_TABLE_DDL);
    await old.exec(`INSERT INTO orders VALUES ('old-1', 'p', 1, 1.5, NULL, '2026-01-01T00:00:00Z', 't', 0, 3, '2026-01-01T00:00:01Z')`);
    old.close();
    const store = await openStore(dataDir, memoryLogger().log);
    await store.write(batch(4, 5, 1, (o) => o));
    expect((await store.query("SELECT order_id FROM orders ORDER BY 1")).rows).toEqual([["o-4"], ["o-5"], ["old-1"]]);
    await store.close();
  });

  test("a value with a key given twice is rejected naming the key (JSON.parse would keep the last and drop the other)", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    const b = decoder.newBatch();
    const value = '{"order_id":"d-1","product":"p","quantity":-5,"price":1,"quantity":3,"ordered_at":"2026-03-01T00:00:00Z"}';
    await b.add("t", 0, [{ key: null, offset: "0", timestamp: "0", value: Buffer.from(value) }]);
    const decoded = await b.finish();
    expect(decoded.rows).toBe(0);
    expect(decoded.rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/^field quantity: is given twice/)]);
    await store.write({ ...decoded, ranges: [{ topic: "t", partition: 0, firstOffset: 0, lastOffset: 0 }], sequence: 1 });
    expect((await store.query("SELECT count(*)::INT FROM orders")).rows).toEqual([[0]]);
    expect(store.storedOffset("t", 0)).toBe(1);
    await store.close();
  });

  test("batches are taken in the order written; one whose dead letters fail commits nothing, nor does any after it", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    let failDeadLetters: (e: Error) => void = () => {};
    const deadLetters = new Promise((_, reject) => (failDeadLetters = reject));
    const writes = [store.write(batch(0, 9, 1, (o) => o)), store.write(batch(10, 19, 2, (o) => o), deadLetters), store.write(batch(20, 29, 3, (o) => o))];
    await writes[0];
    expect(store.storedOffset("t", 0)).toBe(10);
    failDeadLetters(new Error("dead-letter topic unreachable"));
    await expect(writes[1]).rejects.toThrow("unreachable");
    await expect(writes[2]).rejects.toThrow("unreachable");
    expect(store.storedOffset("t", 0)).toBe(10);
    expect((await store.query("SELECT max(kafka_offset)::INT FROM orders")).rows[0]).toEqual([9]);
    await store.close();
  });

  test("a lake written before commit markers: files below the data dir's offsets are kept and marked, the rest moved out", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("notice");
    let store = await openStore(dataDir, log);
    await store.write(batch(0, 9, 1, (o) => o));
    await store.write(batch(10, 19, 2, (o) => o));
    await store.close();
    // As an earlier ferry left it: no markers, and the second batch's table commit never happened.
    rmSync(join(dataDir, "lake", "_ferry", "commits"), { recursive: true });
    const db = await openDb(join(dataDir, "ferry.duckdb"));
    await db.exec("UPDATE ferry_offsets SET next_offset = 10");
    await db.exec("DELETE FROM orders_rows WHERE kafka_offset >= 10");
    db.close();
    for (let round = 0; round < 2; round++) {
      store = await openStore(dataDir, log);
      await store.recover("t", [0]);
      expect(store.storedOffset("t", 0)).toBe(round === 0 ? 10 : 15);
      if (round === 0) await store.write(batch(10, 14, 2, (o) => o)); // the redo: the partition has a marker now
      expect((await store.query("SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT FROM lake")).rows[0]).toEqual([15, 15]);
      await store.close();
    }
    expect(lines.filter((l) => l.includes("moved the lake file")).length).toBe(2); // batch 2's two files, once
  });

  test("a crash after the table commit leaves nothing to redo", async () => {
    const dataDir = tempDir();
    const { log } = memoryLogger();
    let store = await openStore(dataDir, log, { fault: crashAt("after-commit") });
    await expect(store.write(batch(0, 9, 1))).rejects.toBeInstanceOf(Crash);
    await store.close();
    store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    expect(store.storedOffset("t", 0)).toBe(10);
    expect((await store.query("SELECT count(*)::INT FROM lake")).rows[0]).toEqual([10]);
    await store.close();
  });

  test("another data dir of the same group resumes after the lake's marked ranges; one of another writer is refused", async () => {
    const lakeDir = tempDir("ferry-shared-lake-");
    const [a, b, c] = [0, 1, 2].map(() => tempDir());
    const { log } = memoryLogger();
    const open = (dataDir: string, owner?: string) => openStore(dataDir, log, { lake: dataDirLake(dataDir, lakeDir), lakeOwner: owner });
    let store = await open(a!, "group g");
    await store.recover("t", [0]);
    await store.write(batch(0, 9, 1, (o) => o));
    await store.close();
    store = await open(b!, "group g");
    await store.recover("t", [0]);
    expect(store.storedOffset("t", 0)).toBe(10); // its own database knows nothing of it: the lake does
    await store.write(batch(10, 14, 1, (o) => o));
    expect((await store.query("SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT FROM lake")).rows[0]).toEqual([15, 15]);
    await store.close();
    await expect(open(c!, "group other")).rejects.toThrow("written by another writer");
  });

  test("rows DuckDB refuses (a reason of their own) go to the dead letters as their records were; the rest of the batch commits", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("warn");
    const sent: DeadLetter[][] = [];
    const store = await openStore(dataDir, log, { deadLetters: async (r) => void sent.push(r) });
    await store.recover("t", [0]);
    const b = await batch(0, 5, 1, (o) => o);
    // Rows that passed the checks and that DuckDB still refuses (none do today: the schema refuses
    // them first; this is the layer behind it): an unpaired surrogate, at offsets 2 and 5.
    const bad = (o: number): SourceRecord => ({ key: Buffer.from(`k${o}`), offset: String(o), timestamp: "0", headers: { h: Buffer.from("v") }, value: Buffer.from(`{"order_id":"bad-${o}","product":"\\ud800","quantity":1,"price":1,"ordered_at":"2026-03-01T00:00:00Z"}`) });
    const rows = Buffer.concat(b.ndjson).toString().split("\n").filter((l) => l !== "");
    const badRow = (o: number) => `${bad(o).value!.toString().slice(0, -1)},"_s":0,"_o":${o}}`;
    rows[2] = badRow(2);
    rows[5] = badRow(5);
    b.ndjson = [Buffer.from(`${rows.join("\n")}\n`)];
    // The batch keeps the records it parsed and checked in full (offset 2 here); one checked as its
    // bytes (offset 5 here) is not kept: its dead letter is a pointer to it.
    b.sources = [{ topic: "t", partition: 0, messages: [bad(2)] }];
    const result = await store.write(b);
    expect(result.refused.map((r) => [r.offset, r.record.key?.toString(), r.record.value?.toString(), r.pointer])).toEqual([
      ["2", "k2", bad(2).value!.toString(), undefined],
      ["5", undefined, undefined, { lastOffset: "5", bytes: badRow(5).length }],
    ]);
    expect(result.refused[0]!.reason).toMatch(/^the database refused the record: .*surrogate/);
    expect(result.refused[1]!.reason).toMatch(/surrogate.*\(a record checked as its bytes; not kept in memory: read it at its source offset\)$/);
    expect(sent.flat().map((r) => r.offset)).toEqual(["2", "5"]);
    expect((await store.query("SELECT list(kafka_offset::INT ORDER BY kafka_offset) FROM orders")).rows[0]![0]).toEqual([0, 1, 3, 4]);
    expect((await store.query("SELECT count(*)::INT FROM lake")).rows[0]).toEqual([4]);
    expect(store.storedOffset("t", 0)).toBe(6); // the partition moves on
    expect(lines.some((l) => l.includes("records DuckDB refused were sent to the dead-letter topic"))).toBe(true);
    await store.close();
  });

  test("without a dead-letter sender, refused rows fail the batch (nothing commits past them)", async () => {
    const dataDir = tempDir();
    const { log } = memoryLogger("warn");
    const store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    const b = await batch(0, 1, 1, (o) => o);
    b.ndjson = [Buffer.from(`{"order_id":"x","product":"\\ud800","quantity":1,"price":1,"ordered_at":"2026-03-01T00:00:00Z","_s":0,"_o":0}\n`)];
    await expect(store.write(b)).rejects.toThrow(/surrogate/);
    expect(store.storedOffset("t", 0)).toBe(0);
    await store.close();
  });
});
