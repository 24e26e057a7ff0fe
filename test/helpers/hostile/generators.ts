/**
 * fast-check generators of hostile order texts: valid orders (and near misses) rendered with
 * hostile-but-legal JSON — escapes (lone and paired surrogates, \u0000, controls), non-BMP
 * characters, NFC/NFD, BOMs, whitespace everywhere, numbers in every notation (exponents, -0,
 * trailing zeros, 17+ digits, underflow, overflow), strings at the length limits counted in UTF-16
 * units, code points and bytes, timestamps at the edges (1900, 9999, ±23:59, leap seconds, 1–9
 * fraction digits, lowercase, space separators, Feb 29), duplicate and prototype keys, deep
 * nesting, bytes that are not UTF-8, bodies that are objects, arrays or NDJSON.
 *
 * Seeded: FERRY_FUZZ_SEED (default: random, printed by fast-check on failure), FERRY_FUZZ_RUNS.
 */
import fc from "fast-check";

export const FUZZ_SEED = process.env.FERRY_FUZZ_SEED ? Number(process.env.FERRY_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
/** Runs per property: the FERRY_FUZZ_RUNS override, else `ci` (the bounded CI count). */
export const fuzzRuns = (ci: number) => (process.env.FERRY_FUZZ_RUNS ? Number(process.env.FERRY_FUZZ_RUNS) : ci);
export const fuzzParams = (ci: number): fc.Parameters<unknown> => ({ seed: FUZZ_SEED, numRuns: fuzzRuns(ci), endOnFailure: false });

// ---------- strings ----------

/** Characters worth trying: ASCII, JSON's specials, controls, non-BMP, lone surrogates, BOM, combining marks, separators. */
const hostileChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "Z", "0", "-", "_", " ", "é", "ß", "中", "\u00A0") },
  { weight: 2, arbitrary: fc.constantFrom('"', "\\", "/", "'", "{", "}", ",", ":", "[", "]") },
  { weight: 2, arbitrary: fc.constantFrom("\u0000", "\u0001", "\b", "\t", "\n", "\f", "\r", "\u001f", "\u007f", "\u0085") },
  { weight: 2, arbitrary: fc.constantFrom("😀", "𝄞", "\u{10FFFF}", "\u{1F468}\u200D\u{1F469}") },
  { weight: 1, arbitrary: fc.constantFrom("\uD800", "\uDBFF", "\uDC00", "\uDFFF") },
  { weight: 1, arbitrary: fc.constantFrom("\uFEFF", "\uFFFE", "\uFFFF", "\uFFFD", "\u2028", "\u2029", "\u200B") },
  { weight: 1, arbitrary: fc.constantFrom("e\u0301", "\u00e9", "\u212B", "\u0041\u030A", "\u1E9B\u0323") },
);

export const hostileString = (maxPieces = 12) => fc.array(hostileChar, { minLength: 0, maxLength: maxPieces }).map((a) => a.join(""));

/** A string at a length limit, counted one way or another: `limit` ± 1 UTF-16 units, code points or UTF-8 bytes. */
export const stringNearLimit = (limit: number) =>
  fc
    .record({
      unit: fc.constantFrom("a", "é", "中", "😀", "e\u0301", "\uFEFF"),
      count: fc.constantFrom("units", "points", "bytes"),
      delta: fc.integer({ min: -1, max: 1 }),
      prefix: fc.constantFrom("", "x"),
    })
    .map(({ unit, count, delta, prefix }) => {
      const target = Math.max(0, limit + delta);
      const size = (s: string) => (count === "units" ? s.length : count === "points" ? [...s].length : Buffer.byteLength(s));
      let s = prefix;
      while (size(s + unit) <= target) s += unit;
      while (size(s + "a") <= target) s += "a";
      return s;
    });

/** How one UTF-16 unit is written in a JSON string: raw where legal, or escaped. */
const escapeUnit = (c: string, style: number): string => {
  const code = c.charCodeAt(0);
  const hex = (upper: boolean) => `\\u${code.toString(16).padStart(4, "0")[upper ? "toUpperCase" : "toLowerCase"]()}`;
  const short: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  const mustEscape = code < 0x20 || c === '"' || c === "\\" || (code >= 0xd800 && code <= 0xdfff);
  if (style === 0 && !mustEscape) return c;
  if (style === 1 && c === "/") return "\\/";
  if (style <= 1 && short[c]) return short[c];
  if (style <= 1 && !mustEscape) return c;
  return hex(style === 3);
};

/** Renders a string as a JSON string literal, each unit raw or escaped (a lone surrogate can only be escaped). */
export const renderString = (s: string) =>
  fc.array(fc.integer({ min: 0, max: 3 }), { minLength: s.length, maxLength: s.length }).map((styles) => {
    let out = '"';
    for (let i = 0; i < s.length; i++) {
      const code = s.charCodeAt(i);
      const next = s.charCodeAt(i + 1);
      // A surrogate pair written raw stays one character (style 0 on both halves).
      if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff && styles[i]! <= 1) {
        out += s.slice(i, i + 2);
        i++;
        continue;
      }
      out += escapeUnit(s[i]!, styles[i]!);
    }
    return `${out}"`;
  });

// ---------- numbers ----------

/** An exact decimal value as (digits, exponent) rendered in one of JSON's notations with the same value. */
export const renderDecimal = (digits: bigint, exp: number, negative = false) =>
  fc.record({ shift: fc.oneof(fc.integer({ min: -4, max: 4 }), fc.constantFrom(22, 30, 100, 400)), zeros: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(20, 50)), e: fc.constantFrom("e", "E"), sign: fc.constantFrom("", "+", "-"), pad: fc.constantFrom("", "0", "00", "0".repeat(25)), plain: fc.boolean() }).map(({ shift, zeros, e, sign, pad, plain }) => {
    const minus = negative ? "-" : "";
    const plainText = (d: bigint, x: number) => {
      // d × 10^x with at least `zeros` trailing fraction zeros.
      if (x >= 0) return `${d}${"0".repeat(x)}${zeros > 0 ? `.${"0".repeat(zeros)}` : ""}`;
      const s = d.toString().padStart(-x + 1, "0");
      return `${s.slice(0, x)}.${s.slice(x)}${"0".repeat(zeros)}`;
    };
    if (plain || digits === 0n) return minus + plainText(digits, exp);
    // mantissa with `shift` more (or fewer) decimals, exponent compensating.
    const m = plainText(digits, Math.min(exp, 0) - Math.max(0, shift));
    const mantissaScale = Math.max(0, -(Math.min(exp, 0) - Math.max(0, shift)));
    const x = exp + mantissaScale;
    const xs = x < 0 ? `-${pad}${-x}` : `${sign === "-" && x === 0 ? "-" : sign === "-" ? "+" : sign}${pad}${x}`;
    return `${minus}${m.replace(/^0+(?=\d)/, "")}${e}${xs}`;
  });

/** Prices: valid ones in every notation, and near misses (3 decimals, float noise, underflow, overflow, 17+ digits). */
export const priceText = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 999_999_999_999n }).chain((cents) => renderDecimal(cents, -2)) },
  { weight: 2, arbitrary: fc.constantFrom(0n, 1n, 7n, 10n, 100n, 435n, 999_999_999_999n, 1_000_000_000_000n).chain((cents) => renderDecimal(cents, -2)) },
  { weight: 1, arbitrary: fc.constantFrom("-0", "-0.0", "-0e5", "0e99999", "0.000e-5", "-0.00") },
  { weight: 2, arbitrary: fc.record({ cents: fc.bigInt({ min: 0n, max: 99_999_999_999n }), tail: fc.integer({ min: 1, max: 9 }), zeros: fc.integer({ min: 0, max: 14 }) }).map(({ cents, tail, zeros }) => `${cents / 100n}.${String(cents % 100n).padStart(2, "0")}${"0".repeat(zeros)}${tail}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("1e-401", "1e-324", "5e-324", "1e-9", "0.000000001", "1e400", "1e309", "9999999999.989999", "9999999999.994", "9999999999.995", "10000000000", "0.30000000000000004", "1.0000000000000002", "9007199254740993", "1e21", "123456789012345678901234567890", "0.1e1", "100E-2", "1.10", "1E+2", "1e-2", "-1e-401", "-0.01", "4.35"),
  },
);

/** Quantities: 1..1e6 in every notation, and near misses. */
export const quantityText = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1_000_000 }).chain((q) => renderDecimal(BigInt(q), 0)) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 2, 999_999, 1_000_000, 1_000_001).chain((q) => renderDecimal(BigInt(q), 0)) },
  { weight: 2, arbitrary: fc.constantFrom("1.0000000000000001", "999999.99999999999", "1000000.0000000001", "1.5", "0.99999999999999999", "9007199254740993", "1e6", "1e-401", "-0", "1E0", "10e-1", "2e0") },
);

// ---------- timestamps ----------

export const timestampText = fc
  .record({
    year: fc.oneof(fc.constantFrom(1899, 1900, 1901, 1970, 2000, 2024, 2100, 9999, 1000, 10000), fc.integer({ min: 1900, max: 9999 })),
    month: fc.oneof(fc.constantFrom(1, 2, 12), fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 13)),
    day: fc.oneof(fc.constantFrom(1, 28, 29, 30, 31), fc.integer({ min: 1, max: 28 }), fc.constant(0)),
    hour: fc.oneof(fc.constantFrom(0, 23), fc.integer({ min: 0, max: 23 }), fc.constant(24)),
    minute: fc.oneof(fc.constantFrom(0, 59), fc.integer({ min: 0, max: 59 })),
    second: fc.oneof(fc.constantFrom(0, 59, 60), fc.integer({ min: 0, max: 59 })),
    frac: fc.oneof(fc.constant(""), fc.stringMatching(/^[0-9]{1,9}$/), fc.constantFrom("000", "999999", "9999995", "000000000", "1000", "123456000")),
    sep: fc.constantFrom("T", "T", "T", "t", " "),
    zone: fc.oneof(
      fc.constantFrom("Z", "Z", "z", "+00:00", "-00:00", "-00:01", "+00:01", "+23:59", "-23:59", "+01:00", "+0530", "+01", " +01:00", "-12:00", "+14:00"),
      fc.record({ sign: fc.constantFrom("+", "-"), h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }) }).map(({ sign, h, m }) => `${sign}${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`),
    ),
  })
  .map(({ year, month, day, hour, minute, second, frac, sep, zone }) => {
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${p(year, 4)}-${p(month)}-${p(day)}${sep}${p(hour)}:${p(minute)}:${p(second)}${frac ? `.${frac}` : ""}${zone}`;
  });

/** The edges the issue names, as they are. */
export const edgeTimestamps = fc.constantFrom(
  "1900-01-01T00:00:00Z",
  "1900-01-01T00:00:00-00:01",
  "1900-01-01T00:00:00+00:01",
  "1899-12-31T23:59:59.999999Z",
  "1899-12-31T23:00:00-01:00",
  "9999-12-31T23:59:59Z",
  "9999-12-31T23:59:59.999999Z",
  "9999-12-31T23:59:59-23:59",
  "9999-12-31T00:00:01-23:59",
  "2016-12-31T23:59:60Z",
  "2024-02-29T00:00:00Z",
  "2023-02-29T00:00:00Z",
  "2100-02-29T00:00:00Z",
  "2024-01-01t00:00:00z",
  "2024-01-01 00:00:00Z",
  "2024-01-01T00:00:00.123456789Z",
  "2024-12-31T23:59:59.9999995Z",
  "2024-01-01T00:00:00+0100",
  "2024-01-01T00:00:00+01",
  "2024-01-01T00:00:00 +01:00",
);

// ---------- records ----------

export type Field = "order_id" | "product" | "quantity" | "price" | "customer_id" | "ordered_at";

/** A record as a list of [key text, value text] (keys rendered already), in the order written. */
export type Entries = [string, string][];

const plainString = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-_ "), minLength: min, maxLength: max });

/** The value texts of a record's fields: `hostile` picks which fields get hostile values. */
export const orderEntries = (hostile: { strings?: boolean; numbers?: boolean; timestamps?: boolean } = {}): fc.Arbitrary<Entries> =>
  fc
    .record(
      {
        order_id: (hostile.strings ? fc.oneof(hostileString(10).filter((s) => s.length > 0), stringNearLimit(64), plainString(1, 20)) : plainString(1, 20)).chain(renderString),
        product: (hostile.strings ? fc.oneof(hostileString(16), stringNearLimit(200), plainString(1, 30)) : plainString(1, 30)).chain(renderString),
        quantity: hostile.numbers ? quantityText : fc.integer({ min: 1, max: 1_000_000 }).map(String),
        price: hostile.numbers ? priceText : fc.integer({ min: 0, max: 99_999_999 }).map((c) => String(c / 100)),
        customer_id: (hostile.strings ? fc.oneof(hostileString(10), stringNearLimit(64)) : plainString(0, 10)).chain(renderString),
        ordered_at: hostile.timestamps ? fc.oneof(timestampText, edgeTimestamps).chain(renderString) : fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(9999, 11, 31) }).map((ms) => JSON.stringify(new Date(ms).toISOString())),
      },
      { requiredKeys: ["order_id", "product", "quantity", "price"] },
    )
    .map((r) => Object.entries(r).map(([k, v]) => [JSON.stringify(k), v] as [string, string]));

/** A unique order_id entry (so records of one body do not replace each other in the table). */
export const withUniqueId = (entries: Entries, tag: number | string): Entries =>
  entries.map(([k, v]) => (k === '"order_id"' && v.length < 200 ? [k, `${v.slice(0, -1)}#${tag}"`] : [k, v]));

/** Hostile changes to a record's keys: duplicates, prototype and unknown keys, escaped key names, a missing field. */
export const keyMutation = (entries: Entries): fc.Arbitrary<Entries> =>
  fc.oneof(
    fc.constant(entries),
    fc.constantFrom('"__proto__"', '"constructor"', '"prototype"', '"toString"', '"colour"', '"Order_Id"', '"order_id "', '"\\u005f_proto__"').chain((key) =>
      fc.constantFrom("null", "{}", '{"order_id":"x"}', "1", '"x"', "[]").map((value) => [...entries, [key, value]] as Entries),
    ),
    fc.nat({ max: entries.length - 1 }).chain((i) =>
      fc.oneof(
        fc.constant([...entries, entries[i]!] as Entries), // the same key and value twice
        fc.constantFrom('"other"', "2", "0.5", "null").map((v) => [...entries, [entries[i]![0], v]] as Entries), // the same key, another value
        fc.constant(entries.filter((_, j) => j !== i)), // a field missing
        fc.constant(entries.map(([k, v], j) => (j === i ? [k.replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`), v] : [k, v])) as Entries), // an escaped key name
      ),
    ),
  );

const ws = fc.constantFrom("", "", "", " ", "\t", "\r", "\n", " \r\n\t ");

/** Renders entries as an object text with whitespace anywhere between tokens (`lineBreaks`: false for NDJSON lines). */
export const renderObject = (entries: Entries, lineBreaks = true): fc.Arbitrary<string> =>
  fc.array(ws, { minLength: entries.length * 4 + 2, maxLength: entries.length * 4 + 2 }).map((spaces) => {
    let k = 0;
    const w = () => (lineBreaks ? spaces[k++]! : spaces[k++]!.replace(/\n/g, " "));
    return `${w()}{${entries.map(([key, value]) => `${w()}${key}${w()}:${w()}${value}${w()}`).join(",")}}${w()}`;
  });

export const shuffled = <T>(items: T[]) => fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length });

/** A record text: an order of the chosen hostility, keys shuffled and perhaps mutated, rendered with whitespace. */
export const recordText = (hostile: Parameters<typeof orderEntries>[0] = {}, keys = false, lineBreaks = true) =>
  orderEntries(hostile)
    .chain(shuffled)
    .chain((e) => (keys ? keyMutation(e) : fc.constant(e)))
    .chain((e) => renderObject(e, lineBreaks));

/** Deeply nested values in place of a field (stack depth of the parsers). */
export const deepValue = fc.record({ depth: fc.constantFrom(10, 1000, 100_000), open: fc.constantFrom("[", '{"a":') }).map(({ depth, open }) => `${open.repeat(depth)}1${(open === "[" ? "]" : "}").repeat(depth)}`);

/** A record text's bytes with bytes that are not UTF-8 put inside its first string value. */
export const invalidUtf8 = fc.constantFrom([0xff], [0xfe], [0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3], [0xe2, 0x82]);

export function withBytesInString(text: string, bytes: readonly number[]): Buffer {
  const at = text.indexOf('":"') + 3;
  const cut = at > 2 ? at : text.indexOf('"') + 1;
  return Buffer.concat([Buffer.from(text.slice(0, cut), "utf8"), Buffer.from(bytes), Buffer.from(text.slice(cut), "utf8")]);
}

/** A body of records: one object, an array, or NDJSON lines (LF or CRLF); perhaps a BOM first. */
export type Body = { text: string; contentType: string; records: string[] };

export const bodyOf = (records: fc.Arbitrary<string[]>): fc.Arbitrary<Body> =>
  fc.record({ records, form: fc.constantFrom("object", "array", "ndjson", "ndjson-crlf"), bom: fc.integer({ min: 0, max: 9 }).map((n) => n === 0), pretty: ws }).map(({ records, form, bom, pretty }) => {
    const rs = form === "object" ? records.slice(0, 1) : records;
    const body =
      form === "object"
        ? rs[0]!
        : form === "array"
          ? `${pretty}[${rs.join(`,${pretty}`)}]${pretty}`
          : rs.map((r) => r.replace(/[\r\n]/g, " ")).join(form === "ndjson" ? "\n" : "\r\n") + (pretty.includes("\n") ? "\n" : "");
    return { text: (bom ? "\uFEFF" : "") + body, contentType: form.startsWith("ndjson") ? "application/x-ndjson" : "application/json", records: form.startsWith("ndjson") ? rs.map((r) => r.replace(/[\r\n]/g, " ")) : rs };
  });

/**
 * Records of one body: 1–3 orders of the chosen hostility, ids unique by `tag` (tag + index),
 * keys shuffled and perhaps mutated, rendered with whitespace (no line breaks for NDJSON).
 */
export const recordTexts = (hostile: Parameters<typeof orderEntries>[0], opts: { keys?: boolean; lineBreaks?: boolean; tag?: string } = {}) =>
  fc.array(orderEntries(hostile), { minLength: 1, maxLength: 3 }).chain((rs) =>
    fc.tuple(
      ...rs.map((e, i) =>
        fc
          .constant(withUniqueId(e, `${opts.tag ?? ""}${i}`))
          .chain(shuffled)
          .chain((x) => (opts.keys ? keyMutation(x) : fc.constant(x)))
          .chain((x) => renderObject(x, opts.lineBreaks ?? true)),
      ),
    ),
  );

/** Any mix of hostility (strings, numbers, timestamps, keys), for the end-to-end runs. */
export const mixedRecordTexts = (tag: string) =>
  fc.record({ strings: fc.boolean(), numbers: fc.boolean(), timestamps: fc.boolean(), keys: fc.integer({ min: 0, max: 3 }).map((n) => n === 0) }).chain((h) => recordTexts(h, { keys: h.keys, lineBreaks: false, tag }));

/**
 * Every class found so far, one minimal record each (`{id}` is replaced by a unique order_id):
 * posted and produced on every run, whatever the seed.
 */
export const KNOWN_CLASSES: { name: string; text: string }[] = [
  { name: "lone high surrogate", text: '{"order_id":"{id}","product":"\\ud800","quantity":1,"price":1}' },
  { name: "lone low surrogate in order_id", text: '{"order_id":"{id}\\udc00","product":"tea","quantity":1,"price":1}' },
  { name: "price underflow 1e-401", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":1e-401}' },
  { name: "price 17 digits rounds", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":9999999999.989999}' },
  { name: "quantity rounds to an integer", text: '{"order_id":"{id}","product":"tea","quantity":1.0000000000000001,"price":1}' },
  { name: "timestamp past 9999 in UTC", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":1,"ordered_at":"9999-12-31T23:59:59-23:59"}' },
  { name: "timestamp with nanoseconds", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":1,"ordered_at":"2024-01-01T00:00:00.123456789Z"}' },
  { name: "timestamp before 1900 by an offset", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":1,"ordered_at":"1900-01-01T00:00:00+00:01"}' },
  { name: "leading BOM in a string", text: '{"order_id":"{id}","product":"\\ufeffx","quantity":1,"price":1}' },
  { name: "leading BOM in order_id", text: '{"order_id":"\\ufeff{id}","product":"tea","quantity":1,"price":1}' },
  { name: "duplicate key, other value", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":1,"price":2}' },
  { name: "NUL in a string", text: '{"order_id":"{id}","product":"a\\u0000b","quantity":1,"price":1}' },
  { name: "__proto__ key", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":1,"__proto__":{"customer_id":"x"}}' },
  { name: "plain order at the 1900 edge", text: '{"order_id":"{id}","product":"tea","quantity":1,"price":0.1,"ordered_at":"1900-01-01T00:00:00Z"}' },
];

export const knownClass = (c: { text: string }, id: string) => c.text.replace("{id}", id);

/**
 * Texts that are almost JSON (what some parsers take and JSON.parse must not): trailing commas,
 * single quotes, NaN/Infinity, hex, leading + or zeros, bare dots, comments, non-JSON whitespace,
 * a raw control character in a string, a truncated text. Each must be refused.
 */
export const nearMissJson = (text: string) =>
  fc
    .constantFrom<[RegExp, string]>(
      [/}\s*$/, ",}"],
      [/"product"/, "'product'"],
      [/"price"\s*:\s*[^,}]+/, '"price":NaN'],
      [/"price"\s*:\s*[^,}]+/, '"price":Infinity'],
      [/"quantity"\s*:\s*[^,}]+/, '"quantity":0x10'],
      [/"quantity"\s*:\s*[^,}]+/, '"quantity":+1'],
      [/"quantity"\s*:\s*[^,}]+/, '"quantity":01'],
      [/"price"\s*:\s*[^,}]+/, '"price":.5'],
      [/"price"\s*:\s*[^,}]+/, '"price":5.'],
      [/"price"\s*:\s*[^,}]+/, '"price":1e'],
      [/"price"\s*:\s*[^,}]+/, '"price":-'],
      [/^\s*{/, "/* c */{"],
      [/^\s*{/, "\u00a0{"],
      [/^\s*{/, "\u2028{"],
      [/"product"\s*:\s*"/, '"product":"\t'],
      [/"product"\s*:\s*"/, '"product":"\u0000'],
      [/"product"\s*:\s*"/, '"product":"\\x41'],
      [/"product"\s*:\s*"/, '"product":"\\u12'],
      [/}\s*$/, "}}"],
      [/}\s*$/, ""],
    )
    .map(([at, by]) => text.replace(at, by));
