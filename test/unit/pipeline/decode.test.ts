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

  test("a valid order becomes a row with lineage; ordered_at defaults to the Kafka timestamp", async () => {
    const b = decoder.newBatch();
    await b.add("t", 4, [rec(JSON.stringify(ORDER), 17)], new Date("2026-05-06T07:08:09.000Z"));
    const out = await b.finish();
    expect(out.rows).toBe(1);
    expect(out.rejected).toEqual([]);
    expect(JSON.parse(Buffer.concat(out.ndjson).toString())).toEqual({ ...ORDER, ordered_at: "2026-01-02T03:04:05.678Z", _s: 0, _o: 17 });
    expect(out.segments).toEqual([{ topic: "t", partition: 4, ingestedAt: "2026-05-06T07:08:09.000Z" }]);
  });

  test("what no store can hold unchanged is rejected, naming the field: unpaired surrogates, numbers that change, timestamps past 9999, bytes that are not UTF-8", async () => {
    const b = decoder.newBatch();
    const values: (string | Buffer)[] = [
      '{"order_id":"o-1","product":"\\ud800","quantity":1,"price":1}',
      '{"order_id":"o-2","product":"x","quantity":1,"price":1e-401}',
      '{"order_id":"o-3","product":"x","quantity":1.0000000000000001,"price":1}',
      '{"order_id":"o-4","product":"x","quantity":1,"price":1,"ordered_at":"9999-12-31T23:59:59-23:59"}',
      Buffer.concat([Buffer.from('{"order_id":"o-5","product":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","quantity":1,"price":1}')]),
      '{"order_id":"o-6","product":"x","quantity":1,"price":0.30000000000000004}',
    ];
    await b.add("t", 0, values.map((v, i) => rec(v, i)));
    const out = await b.finish();
    expect(out.rows).toBe(0);
    expect(out.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^field product: must be valid Unicode: it holds an unpaired surrogate \\ud800 at character 0/),
      expect.stringMatching(/^field price: the number 1e-401 cannot be stored as written: it reads as 0/),
      expect.stringMatching(/^field quantity: the number 1.0000000000000001 cannot be stored as written: it reads as 1/),
      expect.stringMatching(/^field ordered_at: must be before 10000-01-01T00:00:00Z in UTC/),
      "value is not valid UTF-8: invalid byte sequence at byte 29",
      expect.stringMatching(/^field price: must have at most 2 decimals/),
    ]);
  });

  test("an ordered_at filled in from the Kafka timestamp passes the same checks: a timestamp no lake holds is rejected, never a crash", async () => {
    const b = decoder.newBatch();
    const at = (timestamp: string, offset: number): SourceRecord => ({ ...rec(JSON.stringify(ORDER), offset), timestamp });
    await b.add("t", 0, [at("-2208988800001", 0), at("253402300800000", 1), at("99999999999999999", 2), at(String(Date.UTC(2026, 0, 1)), 3), at("-1", 4)], new Date("2026-05-06T07:08:09.000Z"));
    const out = await b.finish();
    expect(out.rows).toBe(2);
    const rows = Buffer.concat(out.ndjson).toString().trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((r) => r.ordered_at)).toEqual(["2026-01-01T00:00:00.000Z", "2026-05-06T07:08:09.000Z"]); // -1: no timestamp, the time received
    expect(out.rejected.map((r) => [r.offset, r.reason])).toEqual([
      ["0", expect.stringMatching(/^field ordered_at: must not be before 1900.*\(filled in from the Kafka record: its timestamp is -2208988800001\)$/)],
      ["1", expect.stringMatching(/field ordered_at: must be before 10000-01-01T00:00:00Z in UTC.*its timestamp is 253402300800000\)$/)],
      ["2", expect.stringMatching(/^field ordered_at: must be an RFC 3339 timestamp.*its timestamp is 99999999999999999\)$/)],
    ]);
  });

  test("rows carry the value's JSON text as sent (one line each; pretty-printed values re-encoded)", async () => {
    const b = decoder.newBatch();
    const asSent = `{"order_id": "é-1", "product":"tea \\u00e9", "quantity": 2e0, "price":3.50, "ordered_at":"2026-01-02T03:04:05Z"}  `;
    const pretty = JSON.stringify({ ...ORDER, order_id: "p-1" }, null, 2);
    const framedOrder = { ...ORDER, order_id: "f-1", ordered_at: "2026-01-02T03:04:05Z" };
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 42]), Buffer.from(JSON.stringify(framedOrder))]);
    await b.add("t", 1, [rec(asSent, 5), rec(pretty, 6)], new Date("2026-05-06T07:08:09.000Z"));
    await b.add("u", 0, [rec(framed, 7)], new Date("2026-05-06T07:08:10.000Z"));
    const out = await b.finish();
    const lines = Buffer.concat(out.ndjson).toString().split("\n");
    expect(out.segments).toEqual([
      { topic: "t", partition: 1, ingestedAt: "2026-05-06T07:08:09.000Z" },
      { topic: "u", partition: 0, ingestedAt: "2026-05-06T07:08:10.000Z" },
    ]);
    expect(lines.length).toBe(4);
    expect(lines[3]).toBe("");
    expect(lines[0]).toBe(`${asSent.trimEnd().slice(0, -1)},"_s":0,"_o":5}`);
    expect(JSON.parse(lines[0]!)).toMatchObject({ order_id: "é-1", product: "tea é", quantity: 2, price: 3.5 });
    expect(JSON.parse(lines[1]!)).toMatchObject({ order_id: "p-1", _s: 0, _o: 6 });
    expect(lines[2]).toBe(`${JSON.stringify(framedOrder).slice(0, -1)},"_s":1,"_o":7}`); // the payload, without its header
  });

  test("the Confluent wire format (magic byte 0, 4-byte schema id) is unwrapped", async () => {
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 42]), Buffer.from(JSON.stringify(ORDER))]);
    expect(decoder.decodeValue(rec(framed))).toMatchObject({ ok: true, value: { order_id: "a1" } });
    expect(decoder.decodeValue(rec(Buffer.from([0, 1])))).toEqual({ ok: false, reason: expect.stringContaining("shorter than its 5-byte header") });
  });

  test("every kind of bad record is rejected with its reason, the good ones around it kept", async () => {
    const b = decoder.newBatch();
    await b.add("t", 0, [
      rec("{oops", 0),
      rec(JSON.stringify({ ...ORDER, price: -1, colour: "red" }), 1),
      rec(null, 2),
      rec(JSON.stringify(ORDER), 3),
      rec("[1,2]", 4),
    ]);
    const out = await b.finish();
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
  test("cars are validated by their own schema", async () => {
    const decoder = createDecoder("cars");
    expect(decoder.decodeValue(rec(JSON.stringify({ id: 1, make: "Volvo", model: "240", year: 1990 })))).toMatchObject({ ok: true });
    expect(decoder.decodeValue(rec(JSON.stringify({ id: 1, make: "Volvo", model: "240", year: 1700 })))).toEqual({ ok: false, reason: expect.stringContaining("field year") });
  });
});
