/** JSON text → values without a silent change of a number (src/schema/json-text.ts). */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseExactJson, readsAsWritten } from "../../../src/schema/json-text.ts";

const RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? 19);

/** A decimal's exact value as a fraction of BigInts (a second reading, independent of the module's). */
function exact(text: string): { n: bigint; d: bigint } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
  const frac = m[3] ?? "";
  const exp = Number(m[4] ?? 0) - frac.length;
  let n = BigInt(m[2]! + frac) * (m[1] === "-" ? -1n : 1n);
  let d = 1n;
  if (exp >= 0) n *= 10n ** BigInt(exp);
  else d = 10n ** BigInt(-exp);
  return { n, d };
}
const same = (a: string, b: string) => {
  const x = exact(a);
  const y = exact(b);
  return x.n * y.d === y.n * x.d;
};
/** String(x) of a double, as a JSON number ("1e-7", "1.5e+21"). */
const asJson = (x: number) => String(x);

describe("parseExactJson", () => {
  test("numbers that change are named with their path and reading", () => {
    const r = parseExactJson('[{"price":1e-401,"q":[1,1.0000000000000001]},{"a":1e400}]');
    expect(r.inexact.map((n) => [n.path.join("."), n.source, n.reading])).toEqual([
      ["0.price", "1e-401", 0],
      ["0.q.1", "1.0000000000000001", 1],
      ["1.a", "1e400", Infinity],
    ]);
  });

  test("numbers that mean what they say pass, in every spelling", () => {
    for (const t of ["100", "1e2", "1E+2", "100.000", "0.1", "-0", "0.29", "9007199254740992", "1e21", "1.5e300", "5e-324", "0.30000000000000004"]) {
      expect(parseExactJson(`{"x":${t}}`).inexact).toEqual([]);
    }
  });

  test("the good path is plain JSON.parse, and strings that look like numbers are not numbers", () => {
    expect(parseExactJson('{"id":"1e-401","n":12.5}')).toEqual({ value: { id: "1e-401", n: 12.5 }, inexact: [], duplicates: [] });
  });

  test("property: a number is refused exactly when its double reads as another decimal", () => {
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max });
    const number = fc
      .tuple(fc.boolean(), fc.oneof(fc.constant("0"), fc.tuple(fc.constantFrom(..."123456789"), digits(0, 25)).map(([a, b]) => a + b)), fc.option(digits(1, 25)), fc.option(fc.integer({ min: -420, max: 420 })))
      .map(([neg, int, frac, exp]) => `${neg ? "-" : ""}${int}${frac === null ? "" : `.${frac}`}${exp === null ? "" : `e${exp}`}`);
    fc.assert(
      fc.property(number, (text) => {
        const x = JSON.parse(text) as number;
        const expected = Number.isFinite(x) && same(text, asJson(x));
        expect(readsAsWritten(text, x)).toBe(expected);
        expect(parseExactJson(`{"v":${text}}`).inexact.length === 0).toBe(expected);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("property: every double written the shortest way reads as written", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(readsAsWritten(asJson(x), x)).toBe(true);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe("keys given twice", () => {
  test("are named with their object's path, wherever they are", () => {
    expect(parseExactJson('{"a":1,"a":2}').duplicates).toEqual([{ path: ["a"] }]);
    expect(parseExactJson('[{"a":1},{"b":{"c":1,"d":[1,{"e":1,"e":1}]},"x":"\\"a\\":"}]').duplicates).toEqual([{ path: [1, "b", "d", 1, "e"] }]);
    expect(parseExactJson('{"__proto__":1,"__proto__":2}').duplicates).toEqual([{ path: ["__proto__"] }]);
    expect(parseExactJson('{"\\u0061":1,"a":2}').duplicates).toEqual([{ path: ["a"] }]); // the same key, spelled otherwise
  });

  test("property: found exactly when a generated object repeats a key (colons inside strings, escapes, nesting)", () => {
    const key = fc.oneof(fc.constantFrom("a", "b", "a:", '"', "\\", "__proto__", "constructor"), fc.string({ maxLength: 4 }));
    const leaf = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null));
    const members = fc.array(fc.tuple(key, leaf), { maxLength: 6 });
    fc.assert(
      fc.property(fc.array(members, { minLength: 1, maxLength: 4 }), (objects) => {
        const text = `[${objects.map((m) => `{${m.map(([k, v]) => `${JSON.stringify(k)} : ${JSON.stringify(v)}`).join(",")}}`).join(",")}]`;
        const expected = objects.flatMap((m, i) => m.filter(([k], j) => m.findIndex(([other]) => other === k) < j).map(([k]) => ({ path: [i, k] })));
        expect(parseExactJson(text).duplicates).toEqual(expected);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
