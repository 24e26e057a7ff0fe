/**
 * The fetch decoder's policy for refused batches (src/kafka/fetch-response.ts): damage is fetched
 * again up to maxAttempts, then replaced by a pointer message past which the consumer moves; what
 * the bytes themselves say (a bomb) is pointed at once; a response's inflation budget defers a
 * batch to a later fetch; the response framing is read without kafkajs. (Real responses against
 * kafkajs's decoder: test/integration/fetch-response.test.ts.)
 */
import { describe, expect, test } from "bun:test";
import { type CorruptBatch, configureFetchDecoder, corruptionOf, decodeFetchV11, decodeRecordSet } from "../../../src/kafka/fetch-response.ts";
import { bombBatch, damage, encodeBatch, type PlainRecord } from "../../helpers/hostile/record-batches.ts";

const rec = (i: number): PlainRecord => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`{"n":${i}}`), headers: [] });
const recs = (from: number, n: number) => Array.from({ length: n }, (_, i) => rec(from + i));
const budget = (max = 8 << 20) => ({ maxBytes: max, left: max });
let topicNo = 0;
const topic = () => `t${++topicNo}`;

const refused: [CorruptBatch, number, boolean][] = [];
configureFetchDecoder({ maxAttempts: 3, onRefused: (b, attempt, skipped) => refused.push([b, attempt, skipped]) });

const offsets = (ms: { offset: string }[]) => ms.map((m) => (corruptionOf(m) ? `ptr:${m.offset}` : m.offset));

describe("refused batches in a partition's records", () => {
  test("a CRC mismatch is fetched again twice, then pointed at, and the batches after it are read", () => {
    const t = topic();
    const set = Buffer.concat([encodeBatch(recs(0, 3), "none", 0n), damage(encodeBatch(recs(3, 3), "lz4", 3n), { kind: "flip", at: 70, xor: 1 }), encodeBatch(recs(6, 2), "gzip", 6n)]);
    refused.length = 0;
    expect(offsets(decodeRecordSet(set, t, 0, "8", budget()))).toEqual(["0", "1", "2"]);
    expect(offsets(decodeRecordSet(set, t, 0, "8", budget()))).toEqual(["0", "1", "2"]);
    const third = decodeRecordSet(set, t, 0, "8", budget());
    expect(offsets(third)).toEqual(["0", "1", "2", "ptr:5", "6", "7"]);
    expect(corruptionOf(third[3]!)).toMatchObject({ topic: t, partition: 0, firstOffset: "3", lastOffset: "5" });
    expect(corruptionOf(third[3]!)!.reason).toContain("CRC-32C mismatch");
    expect(refused.map(([, a, s]) => [a, s])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
  });

  test("a negative length as the first batch: fetched again, then a pointer bounded by the high watermark (no spin)", () => {
    const t = topic();
    const set = damage(encodeBatch(recs(0, 5), "none", 40n), { kind: "length", value: -7 });
    expect(decodeRecordSet(set, t, 1, "43", budget())).toEqual([]);
    expect(decodeRecordSet(set, t, 1, "43", budget())).toEqual([]);
    const out = decodeRecordSet(set, t, 1, "43", budget());
    expect(offsets(out)).toEqual(["ptr:42"]); // 40 + lastOffsetDelta 4 = 44, bounded by the high watermark 43
    expect(corruptionOf(out[0]!)).toMatchObject({ firstOffset: "40", lastOffset: "42" });
  });

  test("a bomb is pointed at on the first fetch, and the next batch is read", () => {
    const t = topic();
    const bomb = bombBatch("zstd", 4 << 20);
    bomb.writeBigInt64BE(10n, 0);
    const set = Buffer.concat([bomb, encodeBatch(recs(11, 1), "none", 11n)]);
    const out = decodeRecordSet(set, t, 0, "12", budget(1 << 20));
    expect(offsets(out)).toEqual(["ptr:10", "11"]);
    expect(corruptionOf(out[0]!)!.reason).toContain("inflates beyond 1048576 bytes");
  });

  test("a batch that passes what is left of the response's inflation budget waits for a later fetch", () => {
    const t = topic();
    const big = (base: bigint) => encodeBatch([{ key: null, value: Buffer.alloc(600_000, 1), headers: [] }], "zstd", base);
    const b = budget(1 << 20);
    expect(offsets(decodeRecordSet(Buffer.concat([big(0n), big(1n)]), t, 0, "2", b))).toEqual(["0"]);
    // The next partition of the same response: its first batch waits too (the response's budget is spent).
    expect(decodeRecordSet(big(0n), topic(), 0, "1", b)).toEqual([]);
  });
});

/** A Fetch v11 response: one topic, the given partitions' record sets. */
function response(topicName: string, partitions: [number, Buffer | null][]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 7]), int32(1), int16(topicName.length), Buffer.from(topicName), int32(partitions.length)];
  for (const [p, records] of partitions) {
    parts.push(int32(p), int16(0), int64(100n), int64(100n), int64(0n), int32(-1), int32(-1), int32(records ? records.length : -1));
    if (records) parts.push(records);
  }
  return Buffer.concat(parts);
}
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};

describe("Fetch v11 framing", () => {
  test("topics, partitions, null and empty record sets, in kafkajs's shape", async () => {
    const decoded = await decodeFetchV11(response("orders", [[0, encodeBatch(recs(0, 2), "snappy", 0n)], [1, null], [2, Buffer.alloc(0)]]));
    expect(decoded).toMatchObject({ throttleTime: 0, clientSideThrottleTime: 0, errorCode: 0, sessionId: 7 });
    const [p0, p1, p2] = decoded.responses[0]!.partitions;
    expect(decoded.responses[0]!.topicName).toBe("orders");
    expect(p0).toMatchObject({ partition: 0, errorCode: 0, highWatermark: "100", lastStableOffset: "100", lastStartOffset: "0", abortedTransactions: [], preferredReadReplica: -1 });
    expect(p0!.messages.map((m) => [m.offset, String(m.value)])).toEqual([
      ["0", '{"n":0}'],
      ["1", '{"n":1}'],
    ]);
    expect(p1!.messages).toEqual([]);
    expect(p2!.messages).toEqual([]);
  });

  test("a frame that passes the response's end fails the fetch (kafkajs retries it) instead of misreading what follows", async () => {
    const whole = response("orders", [[0, encodeBatch(recs(0, 2), "none", 0n)]]);
    for (const cut of [5, 20, whole.length - 80]) await expect(decodeFetchV11(whole.subarray(0, cut))).rejects.toThrow(RangeError);
  });
});
