/**
 * Dead letters as they go on the wire: the rejected record's headers copied exactly (order,
 * repeats, null values, names such as `__proto__`, names that are not UTF-8), then ferry's; the
 * reason capped and escaped; a pointer for a refused batch or a record too big for the topic.
 * Read back through the consumer's own decoder.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeRecordBatch, sizeRecord } from "../../../src/kafka/producer/record-batch.ts";
import { decodeBatchAt, headerPairsOf } from "../../../src/kafka/record-batch-decoder.ts";
import type { SourceRecord } from "../../../src/pipeline/decode.ts";
import { type DeadLetter, deadLetterMessage, DLQ_HEADERS, pointerOf, REASON_MAX_BYTES, reasonText } from "../../../src/sinks/dead-letters.ts";
import { arbRecord, batchFuzzParams, encodeBatch, type PlainRecord } from "../../helpers/hostile/record-batches.ts";

const same = (got: unknown, want: unknown) => expect(got).toEqual(want);

/** The record as the sink's source hands it on: decoded from a batch (kafkajs's types know no null header values). */
function asReceived(r: PlainRecord): SourceRecord {
  const o = decodeBatchAt(encodeBatch([r], "none", 41n), 0, true, { maxBytes: 1 << 20, left: 1 << 20 });
  if (o.kind !== "records") throw new Error("does not decode");
  return o.records[0]! as unknown as SourceRecord;
}

/** The dead letter as the dead-letter topic's consumer reads it. */
function onTheWire(d: DeadLetter, max = 1 << 20) {
  const m = deadLetterMessage(d, max);
  const batch = encodeRecordBatch([sizeRecord(m)], { producerId: 1n, producerEpoch: 0, baseSequence: 0, timestampMs: 0 });
  const o = decodeBatchAt(batch, 0, true, { maxBytes: 1 << 20, left: 1 << 20 });
  if (o.kind !== "records") throw new Error("the dead letter does not decode");
  const r = o.records[0]!;
  return { key: r.key, value: r.value, pairs: headerPairsOf(r.headers) };
}

const ferryHeaders = (pairs: readonly (readonly [Buffer, Buffer | null])[]) => Object.fromEntries(pairs.filter(([n]) => n.toString().startsWith("ferry.")).map(([n, v]) => [n.toString(), v?.toString()]));

describe("dead letters", () => {
  test("any record's key, value and header pairs are copied exactly, ferry's headers after them", () => {
    fc.assert(
      fc.property(arbRecord, fc.string({ maxLength: 50 }), (r, reason) => {
        const record = asReceived(r);
        const wire = onTheWire({ topic: "orders", partition: 3, offset: record.offset, record, reason });
        same(wire.key, r.key);
        same(wire.value, r.value);
        same(wire.pairs.slice(0, r.headers.length), r.headers);
        expect(wire.pairs.slice(r.headers.length).map(([n]) => n.toString())).toEqual([DLQ_HEADERS.reason, DLQ_HEADERS.topic, DLQ_HEADERS.partition, DLQ_HEADERS.offset]);
        expect(ferryHeaders(wire.pairs.slice(r.headers.length))).toEqual({ [DLQ_HEADERS.reason]: reasonText(reason), [DLQ_HEADERS.topic]: "orders", [DLQ_HEADERS.partition]: "3", [DLQ_HEADERS.offset]: "41" });
      }),
      batchFuzzParams(300),
    );
  });

  test("null values, __proto__ and constructor names, repeats: all there", () => {
    const headers: [Buffer, Buffer | null][] = [
      [Buffer.from("__proto__"), Buffer.from("p")],
      [Buffer.from("constructor"), null],
      [Buffer.from("a"), Buffer.from("1")],
      [Buffer.from("a"), null],
      [Buffer.from("__proto__"), Buffer.from("q")],
    ];
    const record = asReceived({ key: null, value: Buffer.from("not json"), headers });
    same(onTheWire({ topic: "t", partition: 0, offset: "41", record, reason: "value is not JSON" }).pairs.slice(0, 5), headers);
  });

  test("the reason is capped at 1 KiB, control characters and lone surrogates escaped; ordinary reasons unchanged", () => {
    expect(reasonText('quantity: must be ≤ 1000000, got "x"')).toBe('quantity: must be ≤ 1000000, got "x"');
    expect(reasonText("a\u0000b\nc\ud800d\udc00e😀")).toBe("a\\u0000b\\u000ac\\ud800d\\udc00e😀");
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 5000 }), (s) => {
        const t = reasonText(`value is not JSON: ${s}`);
        expect(Buffer.byteLength(t)).toBeLessThanOrEqual(REASON_MAX_BYTES);
        expect(Buffer.from(t, "utf8").toString("utf8")).toBe(t); // nothing to replace: valid Unicode
      }),
      batchFuzzParams(200),
    );
    const huge = reasonText(`value is not JSON: ${"x".repeat(5 << 20)}`);
    expect(Buffer.byteLength(huge)).toBeLessThanOrEqual(REASON_MAX_BYTES);
    expect(huge).toEndWith("bytes, cut)");
  });

  test("a record too big for the dead-letter topic leaves a pointer: where, why, its size; no key, value or headers", () => {
    const record = asReceived({ key: Buffer.from("k"), value: Buffer.alloc(300_000, 0x41), headers: [[Buffer.from("h"), Buffer.from("v")]] });
    const wire = onTheWire({ topic: "orders", partition: 2, offset: "41", record, reason: "value is not JSON" }, 200_000);
    expect(wire.key).toBe(null);
    expect(wire.value).toBe(null);
    const h = ferryHeaders(wire.pairs);
    expect(h).toMatchObject({ [DLQ_HEADERS.topic]: "orders", [DLQ_HEADERS.partition]: "2", [DLQ_HEADERS.offset]: "41", [DLQ_HEADERS.lastOffset]: "41" });
    expect(Number(h[DLQ_HEADERS.bytes])).toBeGreaterThan(300_000);
    expect(h[DLQ_HEADERS.reason]).toContain("value is not JSON (the record is");
    expect(h[DLQ_HEADERS.reason]).toContain("max.message.bytes 200000");
    expect(wire.pairs.length).toBe(6);
  });

  test("a refused batch leaves a pointer with its offset range", () => {
    const wire = onTheWire(pointerOf({ topic: "orders", partition: 1, firstOffset: "100", lastOffset: "109", bytes: 4242, reason: "corrupt record batch at offset 100: CRC-32C mismatch" }));
    expect([wire.key, wire.value]).toEqual([null, null]);
    expect(ferryHeaders(wire.pairs)).toEqual({
      [DLQ_HEADERS.reason]: "corrupt record batch at offset 100: CRC-32C mismatch",
      [DLQ_HEADERS.topic]: "orders",
      [DLQ_HEADERS.partition]: "1",
      [DLQ_HEADERS.offset]: "100",
      [DLQ_HEADERS.lastOffset]: "109",
      [DLQ_HEADERS.bytes]: "4242",
    });
  });
});
