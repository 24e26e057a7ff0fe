/** CQL → JSON text without a server: the exact forms, and the JSON Schema that says the same. */
import { describe, expect, test } from "bun:test";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { types } from "cassandra-driver";
import { CQL, decimalText, durationText, encoderFor, float32Text, jsonSchemaFor, timeText } from "../../../src/cassandra/cql-json.ts";
import { RINGS, splitRing } from "../../../src/cassandra/token-ranges.ts";

describe("CQL values as JSON text", () => {
  test("float: the shortest text that reads back as the same 32-bit float", () => {
    for (const x of [1.1, 0.1, 3.4028234663852886e38, -1.401298464324817e-45, 16777217, 2.25]) {
      const f = Math.fround(x);
      const text = float32Text(f);
      expect(Math.fround(Number(text))).toBe(f);
      expect(text.length).toBeLessThanOrEqual(String(f).length);
    }
    expect(float32Text(Math.fround(1.1))).toBe("1.1");
    expect(float32Text(Number.NaN)).toBe('"NaN"');
  });
  test("decimal: exact, negative scales and leading zeros included", () => {
    const d = (s: string) => decimalText(types.BigDecimal.fromString(s));
    expect(d("1.50")).toBe('"1.50"');
    expect(d("-0.005")).toBe('"-0.005"');
    expect(d("12345678901234567890.123456789")).toBe('"12345678901234567890.123456789"');
    expect(decimalText(new types.BigDecimal(types.Integer.fromNumber(12) as unknown as number, -3))).toBe('"12000"');
  });
  test("time and duration to the nanosecond", () => {
    expect(timeText(types.LocalTime.fromString("13:45:07.123456789"))).toBe('"13:45:07.123456789"');
    expect(timeText(types.LocalTime.fromString("00:00:00.12"))).toBe('"00:00:00.120"');
    expect(timeText(types.LocalTime.fromString("23:59:59"))).toBe('"23:59:59"');
    expect(durationText(new types.Duration(14, 25, types.Long.fromString("18367008009010")))).toBe('"P1Y2M25DT5H6M7.008009010S"');
    expect(durationText(new types.Duration(0, 0, types.Long.fromNumber(-300_000_000_000)))).toBe('"-PT5M"');
    expect(durationText(new types.Duration(0, 0, types.Long.ZERO))).toBe('"PT0S"');
    expect(durationText(new types.Duration(0, 3, types.Long.fromNumber(500_000_000)))).toBe('"P3DT0.500S"');
  });
  test("collections, maps with non-text keys, nested nulls", () => {
    const map = encoderFor({ code: CQL.map, info: [{ code: CQL.int }, { code: CQL.list, info: { code: CQL.text } }] });
    expect(map(new Map<number, string[] | null>([[2, []], [10, ["p", null as unknown as string]], [3, null]]))).toBe('{"2":[],"10":["p",null],"3":null}');
    const tupleKey = encoderFor({ code: CQL.map, info: [{ code: CQL.tuple, info: [{ code: CQL.int }, { code: CQL.text }] }, { code: CQL.boolean }] });
    expect(tupleKey(new Map([[new types.Tuple(1, "a"), true]]))).toBe('{"[1,\\"a\\"]":true}');
    expect(encoderFor({ code: CQL.bigint })(2n ** 63n - 1n)).toBe("9223372036854775807");
    expect(encoderFor({ code: CQL.varint })(-(10n ** 30n))).toBe('"-1000000000000000000000000000000"');
  });
  test("the JSON Schema of a type accepts what its encoder writes", () => {
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    const cases: [number, unknown, unknown?][] = [
      [CQL.double, Number.NaN],
      [CQL.float, Math.fround(1.1)],
      [CQL.decimal, types.BigDecimal.fromString("-1.25")],
      [CQL.timestamp, new Date(0)],
      [CQL.time, types.LocalTime.fromString("01:02:03.5")],
      [CQL.duration, new types.Duration(1, 2, types.Long.fromNumber(3))],
      [CQL.duration, new types.Duration(-1, -2, types.Long.fromNumber(-3_500_000_000))],
      [CQL.uuid, types.Uuid.random()],
      [CQL.inet, types.InetAddress.fromString("::1")],
      [CQL.blob, Buffer.from([0, 1, 2])],
      [CQL.tinyint, -128],
    ];
    for (const [code, value] of cases) {
      const json = JSON.parse(encoderFor({ code })(value));
      expect({ code, ok: ajv.validate(jsonSchemaFor({ code }), json) }).toEqual({ code, ok: true });
    }
    expect(ajv.validate(jsonSchemaFor({ code: CQL.tinyint }), 128)).toBe(false);
  });
});

describe("token ranges", () => {
  test("cover the ring once: each range starts where the one before ended", () => {
    for (const [, ring] of Object.entries(RINGS)) {
      for (const n of [1, 7, 64]) {
        const ranges = splitRing(ring, n);
        expect(ranges.length).toBe(n);
        expect(ranges[0]!.start).toBe(ring.min);
        expect(ranges.at(-1)!.end).toBe(ring.max);
        for (let i = 1; i < n; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
        for (const r of ranges) expect(r.end > r.start).toBe(true);
      }
    }
  });
});
