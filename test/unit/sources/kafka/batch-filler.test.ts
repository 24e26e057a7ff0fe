/** The Kafka source's open batch: ranges per partition, records and bytes against the policy, pointers kept apart. */
import { describe, expect, test } from "bun:test";
import type { KafkaMessage } from "kafkajs";
import type { CorruptBatch } from "../../../../src/kafka/fetch-response.ts";
import { BatchFiller } from "../../../../src/sources/kafka/batch-filler.ts";

const msg = (offset: number, value = "v", key: string | null = "k"): KafkaMessage =>
  ({ offset: String(offset), key: key === null ? null : Buffer.from(key), value: Buffer.from(value), timestamp: "0", attributes: 0, headers: {} }) as KafkaMessage;
const pointer = (first: number, last: number): KafkaMessage =>
  ({ ...msg(last), key: null, value: null, corrupt: { topic: "t", partition: 0, firstOffset: String(first), lastOffset: String(last), bytes: 99, reason: "bad" } satisfies CorruptBatch }) as unknown as KafkaMessage;

function filler(maxRecords = 10, maxBytes = 1 << 20) {
  const added: [string, number, string[]][] = [];
  let contents = 0;
  const f = new BatchFiller({ maxRecords, maxBytes, intervalMs: 1000 }, () => {
    const id = ++contents;
    return { id, add: (topic: string, partition: number, ms: KafkaMessage[]) => void added.push([topic, partition, ms.map((m) => m.offset)]) };
  });
  return { f, added };
}

describe("BatchFiller", () => {
  test("one range per partition, first to last fetched offset (gaps allowed), records counted; take hands over and opens an empty batch", async () => {
    const { f, added } = filler();
    expect(f.isEmpty).toBe(true);
    expect(await f.add("t", 0, [msg(5), msg(7)])).toBe(7);
    await f.add("t", 1, [msg(0)]);
    await f.add("t", 0, [msg(8)]);
    expect(f.room()).toBe(6);
    const b = f.take();
    expect(b.ranges).toEqual([
      { topic: "t", partition: 0, firstOffset: 5, lastOffset: 8, records: 3 },
      { topic: "t", partition: 1, firstOffset: 0, lastOffset: 0, records: 1 },
    ]);
    expect([b.records, b.bytes, b.corrupt]).toEqual([4, 8, []]);
    expect((b.content as unknown as { id: number }).id).toBe(1);
    expect(added).toEqual([
      ["t", 0, ["5", "7"]],
      ["t", 1, ["0"]],
      ["t", 0, ["8"]],
    ]);
    expect(f.isEmpty).toBe(true);
    expect(f.take()).toMatchObject({ ranges: [], records: 0, bytes: 0 });
  });

  test("full at the policy's records or bytes (keys and values)", async () => {
    const a = filler(3).f;
    await a.add("t", 0, [msg(0), msg(1)]);
    expect(a.full()).toBe(false);
    await a.add("t", 0, [msg(2)]);
    expect([a.full(), a.room()]).toEqual([true, 0]);
    const b = filler(100, 10).f;
    await b.add("t", 0, [msg(0, "12345678", "k")]);
    expect(b.full()).toBe(false);
    await b.add("t", 0, [msg(1, "", "k")]);
    expect(b.full()).toBe(true);
  });

  test("a pointer for a refused batch counts for the offsets and records, goes to corrupt, never to the content", async () => {
    const { f, added } = filler();
    await f.add("t", 0, [msg(0), pointer(1, 4), msg(5)]);
    await f.add("t", 0, [pointer(6, 9)]);
    const b = f.take();
    expect(b.ranges).toEqual([{ topic: "t", partition: 0, firstOffset: 0, lastOffset: 9, records: 4 }]);
    expect(b.corrupt.map((c) => [c.firstOffset, c.lastOffset])).toEqual([
      ["1", "4"],
      ["6", "9"],
    ]);
    expect(added).toEqual([["t", 0, ["0", "5"]]]);
  });

  test("reset drops the open batch", async () => {
    const { f } = filler();
    await f.add("t", 0, [msg(0), pointer(1, 2)]);
    f.reset();
    expect(f.isEmpty).toBe(true);
    expect(f.take()).toMatchObject({ ranges: [], corrupt: [], records: 0, bytes: 0 });
  });
});
