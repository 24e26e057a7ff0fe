/**
 * ferry's produce encoding against independent readers: CRC-32C against the standard check value,
 * murmur2 against kafkajs's port of Kafka's partitioner, and RecordBatch v2 against kafkajs's own
 * RecordBatch decoder. (The real broker checks the CRC too: test/integration/producer.test.ts.)
 */
import { describe, expect, test } from "bun:test";
// @ts-expect-error kafkajs internals have no types
import kafkajsMurmur2 from "kafkajs/src/producer/partitioners/default/murmur2.js";
// @ts-expect-error kafkajs internals have no types
import Decoder from "kafkajs/src/protocol/decoder.js";
// @ts-expect-error kafkajs internals have no types
import decodeBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import { crc32c } from "../../../../src/kafka/producer/crc32c.ts";
import { murmur2, partitionOfKey } from "../../../../src/kafka/producer/murmur2.ts";
import { decodeProduceResponse, encodeProduceBody } from "../../../../src/kafka/producer/produce-request.ts";
import { encodeRecordBatch, sizeRecord } from "../../../../src/kafka/producer/record-batch.ts";

describe("crc32c", () => {
  test("standard check value and slices", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const b = Buffer.from("xx123456789yy");
    expect(crc32c(b, 2, 11)).toBe(0xe3069283);
  });
});

describe("murmur2 partitioner", () => {
  test("matches kafkajs's port of Kafka's murmur2 for ASCII, UTF-8 and every tail length", () => {
    const keys = ["", "a", "ab", "abc", "abcd", "order-1", "21", "héllo wörld", "😀 emoji", "x".repeat(300)];
    for (let i = 0; i < 500; i++) keys.push(`o-${i}-${(i * 7919).toString(36)}`);
    for (const k of keys) {
      expect(murmur2(Buffer.from(k))).toBe(kafkajsMurmur2(k) | 0);
      expect(partitionOfKey(k, 6)).toBe((kafkajsMurmur2(k) & 0x7fffffff) % 6);
    }
  });
});

async function decode(buf: Buffer) {
  return decodeBatch(new Decoder(buf));
}

describe("RecordBatch v2", () => {
  test("kafkajs decodes keys, values, headers, producer id, epoch and sequence", async () => {
    const records = [
      { key: "o-1", value: '{"order_id":"o-1"}' },
      { key: null, value: Buffer.from([0, 1, 2, 255]) },
      { key: "ключ", value: null, headers: { "ferry.error": "bad price", bin: Buffer.from([9]), twice: ["a", "b"] } },
      { key: "big", value: "v".repeat(70_000) },
    ].map(sizeRecord);
    const buf = encodeRecordBatch(records, { producerId: 123456789012n, producerEpoch: 3, baseSequence: 42, timestampMs: 1_700_000_000_123 });
    expect(crc32c(buf, 21)).toBe(buf.readUInt32BE(17));
    const batch = await decode(buf);
    expect(batch.producerId).toBe("123456789012");
    expect(batch.producerEpoch).toBe(3);
    expect(batch.firstSequence).toBe(42);
    expect(batch.lastOffsetDelta).toBe(3);
    expect(batch.firstTimestamp).toBe("1700000000123");
    expect(batch.records.length).toBe(4);
    expect(batch.records[0].key.toString()).toBe("o-1");
    expect(batch.records[0].value.toString()).toBe('{"order_id":"o-1"}');
    expect(batch.records[1].key).toBeNull();
    expect([...batch.records[1].value]).toEqual([0, 1, 2, 255]);
    expect(batch.records[2].key.toString()).toBe("ключ");
    expect(batch.records[2].value).toBeNull();
    expect(batch.records[2].headers["ferry.error"].toString()).toBe("bad price");
    expect([...batch.records[2].headers.bin]).toEqual([9]);
    expect(batch.records[2].headers.twice.map(String)).toEqual(["a", "b"]);
    expect(batch.records[3].value.toString().length).toBe(70_000);
    expect(batch.records.map((r: { offset: string }) => r.offset)).toEqual(["0", "1", "2", "3"]);
  });

  test("a record's measured size bounds its encoded size", () => {
    for (const r of [{ key: "k", value: "v" }, { key: null, value: "x".repeat(200) }, { key: "é", value: null, headers: { a: "b" } }]) {
      const sized = sizeRecord(r);
      const alone = encodeRecordBatch([sized], { producerId: 1n, producerEpoch: 0, baseSequence: 0, timestampMs: 0 });
      expect(alone.length - 61).toBeLessThanOrEqual(sized.size);
    }
  });
});

describe("produce request v7", () => {
  test("body groups partitions by topic; the response decoder reads per-partition results", () => {
    const batch = Buffer.from("BATCH");
    const body = encodeProduceBody(
      [
        { topic: "a", partition: 0, batch },
        { topic: "b", partition: 2, batch },
        { topic: "a", partition: 1, batch },
      ],
      30_000,
    );
    expect(body.readInt16BE(0)).toBe(-1); // no transactional id
    expect(body.readInt16BE(2)).toBe(-1); // acks=all
    expect(body.readInt32BE(4)).toBe(30_000);
    expect(body.readInt32BE(8)).toBe(2); // two topics
    expect(body.toString("utf8", 14, 15)).toBe("a");
    expect(body.readInt32BE(15)).toBe(2); // a has two partitions

    const res = Buffer.alloc(4 + 2 + 1 + 4 + 2 * 30 + 4);
    let o = res.writeInt32BE(1, 0);
    o = res.writeInt16BE(1, o);
    o += res.write("a", o);
    o = res.writeInt32BE(2, o);
    for (const [p, err, off] of [[0, 0, 7n], [1, 46, 9n]] as const) {
      o = res.writeInt32BE(p, o);
      o = res.writeInt16BE(err, o);
      o = res.writeBigInt64BE(off, o);
      o = res.writeBigInt64BE(-1n, o);
      o = res.writeBigInt64BE(0n, o);
    }
    res.writeInt32BE(15, o);
    const decoded = decodeProduceResponse(res);
    expect(decoded.results).toEqual([
      { topic: "a", partition: 0, errorCode: 0, baseOffset: 7n },
      { topic: "a", partition: 1, errorCode: 46, baseOffset: 9n },
    ]);
    expect(decoded.clientSideThrottleTime).toBe(15);
  });
});
