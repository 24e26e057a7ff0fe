/** Kafka values → rows or rejections with reasons (plain JSON and the Confluent wire format). */
import { describe, expect, test } from "bun:test";
import { createDecoder, type SourceRecord } from "../../../src/pipeline/decode.ts";

const rec = (value: string | Buffer | null, offset = 0): SourceRecord => ({
  key: null,
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
  offset: String(offset),
  timestamp: String(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
});
const ORDER = { order_id: "a1", product: "tea", quantity: 2, price: 3.5 };

describe("decoder (orders)", () => {
  const decoder = createDecoder("orders");

  test("a valid order becomes a row with lineage; ordered_at defaults to the Kafka timestamp", () => {
    const b = decoder.newBatch();
    b.add("t", 4, [rec(JSON.stringify(ORDER), 17)], new Date("2026-05-06T07:08:09.000Z"));
    const out = b.finish();
    expect(out.rows).toBe(1);
    expect(out.rejected).toEqual([]);
    expect(JSON.parse(out.rowsNdjson)).toEqual({ ...ORDER, ordered_at: "2026-01-02T03:04:05.678Z", kafka_topic: "t", kafka_partition: 4, kafka_offset: 17, ingested_at: "2026-05-06T07:08:09.000Z" });
  });

  test("the Confluent wire format (magic byte 0, 4-byte schema id) is unwrapped", () => {
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 42]), Buffer.from(JSON.stringify(ORDER))]);
    expect(decoder.decodeValue(rec(framed))).toMatchObject({ ok: true, value: { order_id: "a1" } });
    expect(decoder.decodeValue(rec(Buffer.from([0, 1])))).toEqual({ ok: false, reason: expect.stringContaining("shorter than its 5-byte header") });
  });

  test("every kind of bad record is rejected with its reason, the good ones around it kept", () => {
    const b = decoder.newBatch();
    b.add("t", 0, [
      rec("{oops", 0),
      rec(JSON.stringify({ ...ORDER, price: -1, colour: "red" }), 1),
      rec(null, 2),
      rec(JSON.stringify(ORDER), 3),
      rec("[1,2]", 4),
    ]);
    const out = b.finish();
    expect(out.rows).toBe(1);
    expect(out.rejected.map((r) => [r.offset, r.reason])).toEqual([
      ["0", expect.stringContaining("value is not JSON")],
      ["1", expect.stringMatching(/field price: must not be negative; .*unknown field "colour"/)],
      ["2", expect.stringContaining("tombstone")],
      ["4", expect.stringContaining("must be a JSON object")],
    ]);
    expect(out.rejected[0]!.record.value!.toString()).toBe("{oops");
  });
});

describe("decoder (cars)", () => {
  test("cars are validated by their own schema", () => {
    const decoder = createDecoder("cars");
    expect(decoder.decodeValue(rec(JSON.stringify({ id: 1, make: "Volvo", model: "240", year: 1990 })))).toMatchObject({ ok: true });
    expect(decoder.decodeValue(rec(JSON.stringify({ id: 1, make: "Volvo", model: "240", year: 1700 })))).toEqual({ ok: false, reason: expect.stringContaining("field year") });
  });
});
