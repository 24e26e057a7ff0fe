/**
 * The lake's batch store on its own (no Kafka), against real DuckLake catalogs (a DuckDB file, and
 * SQLite for two writers at once): a batch is in the lake whole or not at all; a writer that lost a
 * partition commits nothing; refused rows go to the dead letters and the rest commits.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDecoder, type SourceRecord } from "../../../src/pipeline/decode.ts";
import type { DeadLetter } from "../../../src/sinks/dead-letters.ts";
import { type FaultPoint, type LakeBatchStoreOptions, type LakeBatchWrite, openLakeBatchStore } from "../../../src/lake/batch-store.ts";
import { catalogOf } from "../../../src/lake/catalog.ts";
import { FencedError } from "../../../src/lake/offsets.ts";
import type { Logger } from "../../../src/log/logger.ts";
import { orderBatch } from "../../helpers/lake-batches.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix = "ferry-lake-store-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** The store of an orders sink in `dataDir` (its default catalog and lake unless given). */
const openStore = (dataDir: string, log: Logger, more: Partial<LakeBatchStoreOptions> = {}) =>
  openLakeBatchStore({ dataDir, catalog: catalogOf({ dataDir }), dataPath: { url: `${dataDir}/lake/` }, writer: "test", kind: "orders", memoryLimitMb: 256, threads: 1, ...more }, log);

const decoder = createDecoder("orders");
/** A batch of orders o-<id(offset)> at offsets first..last of partition `partition` of topic t. */
/** A batch of orders o-<id(offset)> at offsets first..last of partition `partition` of topic t. */
const batch = (first: number, last: number, sequence: number, id: (o: number) => number = (o) => o % 7, partition = 0) => orderBatch(first, last, sequence, { id, partition });

class Crash extends Error {}
const crashAt = (at: FaultPoint) => (point: FaultPoint) => {
  if (point === at) throw new Crash(point);
};
const one = async (store: Awaited<ReturnType<typeof openStore>>, sql: string) => (await store.query(sql)).rows[0];

describe("lake batch store (DuckLake)", () => {
  test("batches land in `lake` with their lineage and date; `orders` shows each id's latest; the offsets move in the same snapshot", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    await store.recover("t", [0]);
    expect(store.storedOffset("t", 0)).toBeUndefined();
    const r1 = await store.write(batch(0, 9, 1));
    const r2 = await store.write(batch(10, 19, 2));
    expect(r2.snapshot!).toBeGreaterThan(r1.snapshot!);
    expect(store.storedOffset("t", 0)).toBe(20);
    expect(await one(store, "SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT, min(date)::VARCHAR, max(date)::VARCHAR, any_value(kafka_topic) FROM lake")).toEqual([20, 20, "2026-03-01", "2026-03-02", "t"]);
    // o-0 … o-6, each at its highest offset
    expect((await store.query("SELECT order_id, kafka_offset::INT FROM orders ORDER BY 1")).rows).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => [`o-${i}`, 14 + i - (14 + i > 19 ? 7 : 0)]));
    // Time travel: the lake as of the first batch's snapshot, in SQL and as the socket offers it (both tables)
    expect(await one(store, `SELECT count(*)::INT FROM lake AT (VERSION => ${r1.snapshot})`)).toEqual([10]);
    expect((await store.query("SELECT (SELECT count(*)::INT FROM lake), (SELECT max(kafka_offset)::INT FROM orders)", {}, { version: r1.snapshot! })).rows[0]).toEqual([10, 9]);
    await store.close();
    const again = await openStore(dataDir, memoryLogger().log);
    await again.recover("t", [0]);
    expect(again.storedOffset("t", 0)).toBe(20);
    await again.close();
  });

  for (const point of ["staged", "in-commit"] as const) {
    test(`a batch cut short (${point}) leaves nothing in the lake; the redo, with other boundaries, is exact`, async () => {
      const dataDir = tempDir();
      const { log } = memoryLogger();
      let store = await openStore(dataDir, log, { fault: crashAt(point) });
      await store.recover("t", [0]);
      await expect(store.write(batch(0, 9, 1, (o) => o))).rejects.toBeInstanceOf(Crash);
      await store.close();
      store = await openStore(dataDir, log);
      await store.recover("t", [0]);
      expect(store.storedOffset("t", 0)).toBeUndefined();
      expect(await one(store, "SELECT count(*)::INT FROM lake")).toEqual([0]);
      await store.write(batch(0, 4, 1, (o) => o));
      await store.write(batch(5, 9, 2, (o) => o));
      expect(await one(store, "SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT FROM lake")).toEqual([10, 10]);
      await store.close();
    });
  }

  test("a crash after the commit leaves nothing to redo", async () => {
    const dataDir = tempDir();
    const { log } = memoryLogger();
    let store = await openStore(dataDir, log, { fault: crashAt("after-commit") });
    await store.recover("t", [0]);
    await expect(store.write(batch(0, 9, 1))).rejects.toBeInstanceOf(Crash);
    await store.close();
    store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    expect(store.storedOffset("t", 0)).toBe(10);
    expect(await one(store, "SELECT count(*)::INT FROM lake")).toEqual([10]);
    await store.close();
  });

  test("two writers on one SQLite catalog: other partitions commit side by side; a writer that lost its partition (a zombie) commits nothing", async () => {
    const shared = tempDir("ferry-shared-");
    const { log } = memoryLogger();
    const open = () => openStore(tempDir(), log, { catalog: catalogOf({ dataDir: shared, catalog: `sqlite:${join(shared, "catalog.sqlite")}` }), dataPath: { url: `${shared}/lake/` } });
    const a = await open();
    const b = await open();
    await a.recover("t", [0]);
    await b.recover("t", [1]);
    await Promise.all([a.write(batch(0, 9, 1, (o) => o, 0)), b.write(batch(0, 9, 1, (o) => 100 + o, 1))]);
    // b takes partition 0 over (a paused past its session timeout) and moves it on
    await b.recover("t", [0]);
    expect(b.storedOffset("t", 0)).toBe(10);
    await b.write(batch(10, 14, 2, (o) => o, 0));
    // a wakes up and commits what it had fetched: refused, nothing written
    await expect(a.write(batch(10, 19, 2, (o) => o, 0))).rejects.toBeInstanceOf(FencedError);
    expect(await one(b, "SELECT count(*)::INT, count(DISTINCT (kafka_partition, kafka_offset))::INT FROM lake")).toEqual([25, 25]);
    expect(await one(b, "SELECT count(*)::INT FROM lake WHERE kafka_partition = 0")).toEqual([15]);
    await a.close();
    await b.close();
  });

  test("a partition another consumer group (or a ferry run) wrote is refused: its records would be in the lake twice", async () => {
    const shared = tempDir("ferry-shared-");
    const { log } = memoryLogger();
    const open = (group: string) =>
      openStore(tempDir(), log, { writer: `group ${group} member ${crypto.randomUUID()}`, owner: `group ${group}`, catalog: catalogOf({ dataDir: shared, catalog: `sqlite:${join(shared, "catalog.sqlite")}` }), dataPath: { url: `${shared}/lake/` } });
    const a = await open("g");
    await a.recover("t", [0]);
    await a.write(batch(0, 9, 1));
    await a.close();
    const again = await open("g"); // another member of the same group: resumes
    await again.recover("t", [0]);
    expect(again.storedOffset("t", 0)).toBe(10);
    await again.close();
    const other = await open("other");
    await expect(other.recover("t", [0])).rejects.toThrow("the lake's partition t/0 is written by group g, not group other");
    await other.recover("t", [1]); // a partition nobody wrote yet is fine
    await other.close();
  });

  test("batches are taken in the order written; one whose dead letters fail commits nothing, nor does any after it", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    await store.recover("t", [0]);
    let failDeadLetters: (e: Error) => void = () => {};
    const deadLetters = new Promise((_, reject) => (failDeadLetters = reject));
    const writes = [store.write(batch(0, 9, 1, (o) => o)), store.write(batch(10, 19, 2, (o) => o), deadLetters), store.write(batch(20, 29, 3, (o) => o))];
    await writes[0];
    expect(store.storedOffset("t", 0)).toBe(10);
    failDeadLetters(new Error("dead-letter topic unreachable"));
    await expect(writes[1]).rejects.toThrow("unreachable");
    await expect(writes[2]).rejects.toThrow("unreachable");
    expect(store.storedOffset("t", 0)).toBe(10);
    expect(await one(store, "SELECT max(kafka_offset)::INT FROM orders")).toEqual([9]);
    await store.close();
  });

  test("rows DuckDB refuses (a reason of their own) go to the dead letters as their records were; the rest of the batch commits", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("warn");
    const sent: DeadLetter[][] = [];
    const store = await openStore(dataDir, log, { deadLetters: async (r) => void sent.push(r) });
    await store.recover("t", [0]);
    const b = await batch(0, 5, 1, (o) => o);
    const bad = (o: number): SourceRecord => ({ key: Buffer.from(`k${o}`), offset: String(o), timestamp: "0", headers: { h: Buffer.from("v") }, value: Buffer.from(`{"order_id":"bad-${o}","product":"\\ud800","quantity":1,"price":1,"ordered_at":"2026-03-01T00:00:00Z"}`) });
    const rows = Buffer.concat(b.ndjson).toString().split("\n").filter((l) => l !== "");
    const badRow = (o: number) => `${bad(o).value!.toString().slice(0, -1)},"_s":0,"_o":${o}}`;
    rows[2] = badRow(2);
    rows[5] = badRow(5);
    b.ndjson = [Buffer.from(`${rows.join("\n")}\n`)];
    b.sources = [{ topic: "t", partition: 0, messages: [bad(2)] }];
    const result = await store.write(b);
    expect(result.refused.map((r) => [r.offset, r.record.key?.toString(), r.pointer])).toEqual([
      ["2", "k2", undefined],
      ["5", undefined, { lastOffset: "5", bytes: badRow(5).length }],
    ]);
    expect(sent.flat().map((r) => r.offset)).toEqual(["2", "5"]);
    expect((await store.query("SELECT list(kafka_offset::INT ORDER BY kafka_offset) FROM orders")).rows[0]![0]).toEqual([0, 1, 3, 4]);
    expect(store.storedOffset("t", 0)).toBe(6);
    expect(lines.some((l) => l.includes("records DuckDB refused were sent to the dead-letter topic"))).toBe(true);
    await store.close();
  });

  test("a batch with no valid rows still moves the offsets", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    await store.recover("t", [0]);
    const b = decoder.newBatch();
    await b.add("t", 0, [{ key: null, offset: "0", timestamp: "0", value: Buffer.from("not json") }]);
    const decoded = await b.finish();
    expect(decoded.rows).toBe(0);
    await store.write({ ...decoded, ranges: [{ topic: "t", partition: 0, firstOffset: 0, lastOffset: 0 }], sequence: 1 });
    expect(store.storedOffset("t", 0)).toBe(1);
    expect(await one(store, "SELECT count(*)::INT FROM orders")).toEqual([0]);
    await store.close();
  });

  test("ids repeated across batches, twice in one batch, with offsets never fetched between: `orders` shows each id's latest offset", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    await store.recover("t", [0]);
    const table = async () => (await store.query("SELECT order_id, kafka_offset::INT FROM orders ORDER BY kafka_offset")).rows;
    await store.write(batch(0, 9, 1, (o) => o)); // all new
    expect(await table()).toEqual([...Array(10).keys()].map((o) => [`o-${o}`, o]));
    await store.write(batch(10, 14, 2, (o) => o - 8)); // o-2..o-6 again, no new id
    expect(await table()).toEqual([0, 1, 7, 8, 9, 10, 11, 12, 13, 14].map((o) => [`o-${o < 10 ? o : o - 8}`, o]));
    await store.write(batch(30, 33, 3, (o) => 2000 + (o % 2))); // offsets 15..29 never fetched (compacted away, say); one id twice in the batch
    const rows = await table();
    expect(rows.slice(-2)).toEqual([["o-2000", 32], ["o-2001", 33]]);
    expect(rows.length).toBe(12);
    expect(store.storedOffset("t", 0)).toBe(34);
    expect(await one(store, "SELECT count(*)::INT FROM lake")).toEqual([10 + 5 + 4]);
    await store.close();
  });

  test("a value with a key given twice is rejected naming the key (JSON.parse would keep the last and drop the other); the same id given once beside it is stored as sent", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger().log);
    await store.recover("t", [0]);
    const b = decoder.newBatch();
    const twice = '{"order_id":"d-1","product":"p","quantity":-5,"price":1,"quantity":3,"ordered_at":"2026-03-01T00:00:00Z"}';
    const once = '{"order_id":"d-1","product":"p","quantity":3,"price":1,"ordered_at":"2026-03-01T00:00:00Z"}';
    await b.add("t", 0, [twice, once].map((v, o) => ({ key: null, offset: String(o), timestamp: "0", value: Buffer.from(v) })));
    const decoded = await b.finish();
    expect(decoded.rejected.map((r) => [r.offset, r.reason])).toEqual([["0", expect.stringMatching(/^field quantity: is given twice/)]]);
    await store.write({ ...decoded, ranges: [{ topic: "t", partition: 0, firstOffset: 0, lastOffset: 1 }], sequence: 1 });
    expect((await store.query("SELECT order_id, quantity, kafka_offset::INT FROM lake")).rows).toEqual([["d-1", 3, 1]]);
    expect(store.storedOffset("t", 0)).toBe(2);
    await store.close();
  });

  test("a refused record's dead letter says why: DuckDB's reason; for a record not kept in memory, also where to read it", async () => {
    const dataDir = tempDir();
    const sent: DeadLetter[] = [];
    const store = await openStore(dataDir, memoryLogger().log, { deadLetters: async (r) => void sent.push(...r) });
    await store.recover("t", [0]);
    const b = await batch(0, 2, 1, (o) => o);
    const bad = (o: number): SourceRecord => ({ key: null, offset: String(o), timestamp: "0", value: Buffer.from(`{"order_id":"bad-${o}","product":"\\udc00","quantity":1,"price":1,"ordered_at":"2026-03-01T00:00:00Z"}`) });
    const rows = Buffer.concat(b.ndjson).toString().split("\n").filter((l) => l !== "");
    rows[0] = `${bad(0).value!.toString().slice(0, -1)},"_s":0,"_o":0}`;
    rows[1] = `${bad(1).value!.toString().slice(0, -1)},"_s":0,"_o":1}`;
    b.ndjson = [Buffer.from(`${rows.join("\n")}\n`)];
    b.sources = [{ topic: "t", partition: 0, messages: [bad(0)] }];
    const result = await store.write(b);
    expect(result.refused.map((r) => [r.offset, r.record.value?.toString() ?? null])).toEqual([["0", bad(0).value!.toString()], ["1", null]]);
    expect(result.refused[0]!.reason).toMatch(/^the database refused the record: .*surrogate/);
    expect(result.refused[1]!.reason).toMatch(/surrogate.*\(a record checked as its bytes; not kept in memory: read it at its source offset\)$/);
    expect(sent.map((r) => r.offset)).toEqual(["0", "1"]);
    expect(await one(store, "SELECT list(kafka_offset::INT) FROM lake")).toEqual([[2]]);
    await store.close();
  });

  test("without a dead-letter sender, rows DuckDB refuses fail the batch: nothing of it commits, the offsets stay", async () => {
    const dataDir = tempDir();
    const store = await openStore(dataDir, memoryLogger("error").log);
    await store.recover("t", [0]);
    await store.write(batch(0, 4, 1, (o) => o));
    const b = await batch(5, 6, 2, (o) => o);
    b.ndjson = [Buffer.concat(b.ndjson), Buffer.from(`{"order_id":"x","product":"\\ud800","quantity":1,"price":1,"ordered_at":"2026-03-01T00:00:00Z","_s":0,"_o":6}\n`)];
    await expect(store.write(b)).rejects.toThrow(/surrogate/);
    expect(store.storedOffset("t", 0)).toBe(5);
    expect(await one(store, "SELECT count(*)::INT, max(kafka_offset)::INT FROM lake")).toEqual([5, 4]);
    await store.close();
  });
});
