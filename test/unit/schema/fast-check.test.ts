/**
 * The compiled check must never accept what valibot refuses, and must accept (almost) every
 * record valibot accepts unchanged: compared on many generated records, valid and broken ones.
 */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { CarSchema } from "../../../src/schema/car.ts";
import { compileBytesCheck, compileFastCheck, lackingAt } from "../../../src/schema/fast-check.ts";
import { OrderSchema } from "../../../src/schema/order.ts";

/** Small seeded PRNG (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const oddValues: unknown[] = [
  null, undefined, true, 0, -1, 1, 1.5, 0.1 + 0.2, 12.345, 1e21, Number.NaN, Number.POSITIVE_INFINITY, 1_000_000, 1_000_001, 9_999_999_999.99, 1e10,
  "", "x", "1", "x".repeat(64), "x".repeat(65), "x".repeat(201), [], {}, [1],
  "2026-11-18T12:00:05Z", "2026-11-18T12:00:05.123Z", "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2026-02-30T00:00:00Z",
  "2026-04-31T10:00:00Z", "2026-11-18T24:00:00Z", "2026-11-18T12:60:00Z", "2026-11-18 12:00:05Z", "2026-11-18T12:00:05+01:00",
  "1899-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "1900-01-01T00:30:00+01:00", "0099-01-01T00:00:00Z", "1500-01-01T00:00:00Z",
  "2026-11-18T12:00:05.1234Z", "2026-11-18", "March 7, 2026", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
];

function mutate(base: Record<string, unknown>, random: () => number): unknown {
  const out: Record<string, unknown> = { ...base };
  const keys = Object.keys(base);
  const n = Math.floor(random() * 3);
  for (let i = 0; i < n; i++) {
    const r = random();
    const key = keys[Math.floor(random() * keys.length)]!;
    if (r < 0.15) delete out[key];
    else if (r < 0.2) out[`extra${i}`] = 1;
    else out[key] = oddValues[Math.floor(random() * oddValues.length)];
  }
  return random() < 0.01 ? oddValues[Math.floor(random() * oddValues.length)] : out;
}

const cases = [
  { name: "Order", schema: OrderSchema, base: { order_id: "o-1", product: "coffee", quantity: 2, price: 3.5, customer_id: "c-1", ordered_at: "2026-11-18T12:00:05Z" } },
  { name: "Car", schema: CarSchema, base: { id: 1, make: "Volvo", model: "240", year: 1990 } },
] as const;

describe.each(cases)("the compiled check of $name", ({ schema, base }) => {
  const check = compileFastCheck(schema as v.GenericSchema)!;

  test("compiles", () => {
    expect(check).toBeFunction();
  });

  test("agrees with valibot on 100,000 generated records, valid and broken", () => {
    const random = rng(13);
    let accepted = 0;
    let disagreements = 0;
    for (let i = 0; i < 100_000; i++) {
      const input = mutate(base, random);
      const fast = check(input);
      const slow = v.safeParse(schema as v.GenericSchema, input);
      // Never more lenient than valibot; and what it accepts, valibot outputs unchanged.
      if (fast) {
        expect(slow.success).toBe(true);
        expect(slow.output).toEqual(input as never);
        accepted++;
      } else if (slow.success) disagreements++;
    }
    expect(accepted).toBeGreaterThan(10_000);
    expect(disagreements).toBe(0);
  });

  test("a schema with a transformation or a default does not compile", () => {
    expect(compileFastCheck(v.object({ a: v.pipe(v.string(), v.trim()) }))).toBeUndefined();
    expect(compileFastCheck(v.strictObject({ a: v.optional(v.string(), "x") }))).toBeUndefined();
    expect(compileFastCheck(v.strictObject({ a: v.union([v.string(), v.number()]) }))).toBeUndefined();
  });
});

/** Renders a value as JSON text, sometimes written the way other producers write it. */
function render(input: unknown, random: () => number): string {
  const text = JSON.stringify(input) ?? "null";
  const r = random();
  if (r < 0.55) return text;
  const edits: ((t: string) => string)[] = [
    (t) => t.replace(/":/g, '" : ').replace(/,"/g, ', "'), // spaces
    (t) => ` \t${t}\r `, // around
    (t) => t.replace(/,"/g, ',\n"'), // a line break (rows are one line)
    (t) => t.replace(/"o-1"/, '"o\\u002d1"'), // an escape
    (t) => t.replace(/"coffee"/, '"caf\u00e9"'), // not ASCII
    (t) => t.replace(/:3\.5/, ":35e-1").replace(/:2,/, ":2.0,"), // an exponent, a needless fraction
    (t) => t.replace(/:2,/, ":02,").replace(/:1990/, ":1990."), // not JSON
    (t) => t.replace(/:3\.5/, ":-0").replace(/:2,/, ":-0.0,"), // negative zeros
    (t) => t.replace(/:3\.5/, ":3.50000000000000000001").replace(/:1990/, ":1990.0000000000000"), // many digits
    (t) => t.replace(/:3\.5/, ":0.1000000000000000055511151231257827"), // the double nearest 0.1, written out
    (t) => t.replace(/\}$/, ',"order_id":"o-2"}').replace(/"make"/, '"make":"Saab","make"'), // a key twice
    (t) => t.replace(/\}$/, "}}"), // trailing bytes
    (t) => t.replace(/^\{/, "[{").replace(/\}$/, "}]"), // an array
    (t) => t.replace(/:true/, ":tru").replace(/:2,/, ":2,,"), // broken
    (t) => t.replace(/:"c-1"/, ":null"), // null
  ];
  return edits[Math.floor(random() * edits.length)]!(text);
}

/** Numbers without an exponent and with at most 15 significant digits (the bytes check reads those; JSON.parse the others). */
const plainNumbers = (text: string) =>
  (text.replace(/"[^"]*"/g, "").match(/-?[\d.eE+]+/g) ?? []).every((n) => !/[eE]/.test(n) && n.replace(/^-/, "").replace(".", "").replace(/^0+/, "").length <= 15);

describe.each(cases)("the bytes check of $name", ({ schema, base }) => {
  const check = compileFastCheck(schema as v.GenericSchema)!;
  const bytesCheck = compileBytesCheck(schema as v.GenericSchema)!;

  test("never says yes where JSON.parse and the check would not; says yes to plain renderings", () => {
    const random = rng(29);
    let accepted = 0;
    let plainMissed = 0;
    for (let i = 0; i < 100_000; i++) {
      const text = render(mutate(base, random), random);
      const bytes = Buffer.from(text);
      const cut = bytesCheck(bytes);
      let parsed: unknown;
      let parses = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        parses = false;
      }
      if (cut >= 0) {
        expect(parses).toBe(true);
        expect(check(parsed)).toBe(true);
        expect(text.lastIndexOf("}")).toBe(cut);
        expect(text.slice(cut + 1).trim()).toBe("");
        expect(text).not.toContain("\n");
        accepted++;
      } else if (parses && check(parsed) && text === JSON.stringify(parsed) && /^[\x20-\x7e]*$/.test(text) && plainNumbers(text)) {
        plainMissed++;
      }
    }
    expect(accepted).toBeGreaterThan(10_000);
    expect(plainMissed).toBe(0);
  });

  test("reads numbers as JSON.parse does", () => {
    const numbers = ["0", "-0", "1", "0.1", "0.2", "0.30000000000000004", "12.34", "9999999999.99", "123456789012345", "1234567890.12345", "0.000001", "4503599627370497", "99.995", "1.005"];
    const field = Object.entries((schema as unknown as { entries: Record<string, { type: string; wrapped?: { type: string } }> }).entries).find(([, e]) => (e.wrapped ?? e).type === "number")![0];
    for (const n of numbers) {
      const text = JSON.stringify({ ...base, [field]: 0 }).replace(`"${field}":0`, `"${field}":${n}`);
      const cut = bytesCheck(Buffer.from(text));
      if (cut >= 0) expect(check(JSON.parse(text))).toBe(true);
      expect(cut >= 0).toBe(check(JSON.parse(text)) && plainNumbers(n));
    }
  });
});

test("the bytes check wants the fields the caller would fill in", () => {
  const order = { order_id: "o-1", product: "coffee", quantity: 2, price: 3.5 };
  expect(compileBytesCheck(OrderSchema as v.GenericSchema)!(Buffer.from(JSON.stringify(order)))).toBeGreaterThan(0);
  const text = JSON.stringify(order);
  expect(lackingAt(compileBytesCheck(OrderSchema as v.GenericSchema, ["ordered_at"])!(Buffer.from(text)))).toBe(text.length - 1); // valid but lacking it: where to add it
  expect(compileBytesCheck(OrderSchema as v.GenericSchema, ["ordered_at"])!(Buffer.from(JSON.stringify({ ...order, quantity: 0 })))).toBe(-1);
  expect(compileBytesCheck(OrderSchema as v.GenericSchema, ["ordered_at"])!(Buffer.from(JSON.stringify({ ...order, ordered_at: "2026-11-18T12:00:05Z" })))).toBeGreaterThan(0);
});
