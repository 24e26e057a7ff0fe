/**
 * What a record text means, independently of ferry: an exact JSON reader (numbers kept as their
 * text, every key kept in order, strings exactly as JSON.parse reads them, lone surrogates
 * included), the exact decimal a number's text says, the exact instant an RFC 3339 text says, and
 * the verdict of the Order contract (docs/architecture "Records"): MUST_ACCEPT (a plain, valid
 * record), MAY (a valid meaning in a hostile rendering: stored unchanged, or refused with a
 * reason), MUST_REFUSE (nothing ferry's stores can hold unchanged, or outside the contract).
 */

export type JsonValue =
  | { kind: "string"; value: string; raw: string }
  | { kind: "number"; text: string }
  | { kind: "bool"; value: boolean }
  | { kind: "null" }
  | { kind: "array"; items: JsonValue[] }
  | { kind: "object"; entries: [string, JsonValue][] };

export class JsonSyntaxError extends Error {}

/** Reads one JSON text (RFC 8259; what JSON.parse accepts) keeping numbers as text and duplicate keys. */
export function readJson(text: string): JsonValue {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const fail = (why: string): never => {
    throw new JsonSyntaxError(`${why} at ${i}`);
  };
  function str(): { value: string; raw: string } {
    const start = i;
    i++; // "
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return { value: out, raw: text.slice(start, i) };
      }
      if (c < 0x20) fail("control character in string");
      if (c === 0x5c) {
        const e = text[i + 1];
        i += 2;
        const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e !== undefined && e in simple) out += simple[e];
        else if (e === "u") {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
        } else fail("bad escape");
        continue;
      }
      out += text[i];
      i++;
    }
  }
  function value(depth: number): JsonValue {
    if (depth > 5000) fail("too deep for the oracle");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, JsonValue][] = [];
      ws();
      if (text[i] === "}") {
        i++;
        return { kind: "object", entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const k = str().value;
        ws();
        if (text[i] !== ":") fail("expected :");
        i++;
        entries.push([k, value(depth + 1)]);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { kind: "object", entries };
        }
        fail("expected , or }");
      }
    }
    if (c === "[") {
      i++;
      const items: JsonValue[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { kind: "array", items };
        }
        fail("expected , or ]");
      }
    }
    if (c === '"') {
      const s = str();
      return { kind: "string", ...s };
    }
    const num = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 100_000));
    if (num && num[0].length > 0) {
      i += num[0].length;
      return { kind: "number", text: num[0] };
    }
    for (const [word, v] of [
      ["true", { kind: "bool", value: true }],
      ["false", { kind: "bool", value: false }],
      ["null", { kind: "null" }],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v as JsonValue;
      }
    }
    return fail("unexpected token");
  }
  const v = value(0);
  ws();
  if (i !== text.length) fail("trailing text");
  return v;
}

/** An exact decimal: sign × digits × 10^exp (digits without trailing zeros; zero is digits 0n, exp 0). */
export interface Decimal {
  negative: boolean;
  digits: bigint;
  exp: number;
}

export function decimalOf(numberText: string): Decimal {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(numberText);
  if (!m) throw new Error(`not a number text: ${numberText}`);
  const fraction = m[3] ?? "";
  let digitsText = (m[2]! + fraction).replace(/^0+/, "");
  // An exponent beyond ±1e15 is kept as a big number of its own: the value is 0 or far out of any range.
  const expBig = BigInt(m[4] ?? "0") - BigInt(fraction.length);
  if (digitsText === "") return { negative: m[1] === "-", digits: 0n, exp: 0 };
  let trailing = 0;
  while (digitsText.endsWith("0")) {
    digitsText = digitsText.slice(0, -1);
    trailing++;
  }
  const e = expBig + BigInt(trailing);
  const clamp = e > 1_000_000n ? 1_000_000 : e < -1_000_000n ? -1_000_000 : Number(e);
  return { negative: m[1] === "-", digits: BigInt(digitsText), exp: clamp };
}

/** The decimal as plain text with exactly `scale` decimals, or undefined when it has more decimals than that. */
export function decimalText(d: Decimal, scale: number): string | undefined {
  if (d.digits === 0n) return scale === 0 ? "0" : `0.${"0".repeat(scale)}`;
  if (d.exp < -scale) return undefined;
  if (d.exp > 40) return `${d.negative ? "-" : ""}1${"0".repeat(41)}`; // out of every range, shown as such
  const scaled = d.digits * 10n ** BigInt(d.exp + scale);
  const s = scaled.toString().padStart(scale + 1, "0");
  const body = scale === 0 ? s : `${s.slice(0, -scale)}.${s.slice(-scale)}`;
  return `${d.negative ? "-" : ""}${body}`;
}

/** The exact value of a decimal compared with a bound given as text (−1, 0, 1). */
export function compareDecimal(a: Decimal, b: Decimal): number {
  const sa = a.digits === 0n ? 0 : a.negative ? -1 : 1;
  const sb = b.digits === 0n ? 0 : b.negative ? -1 : 1;
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  const e = Math.min(a.exp, b.exp);
  if (Math.max(a.exp, b.exp) - e > 2000) return (a.exp > b.exp ? 1 : -1) * sa;
  const x = a.digits * 10n ** BigInt(a.exp - e);
  const y = b.digits * 10n ** BigInt(b.exp - e);
  return (x === y ? 0 : x < y ? -1 : 1) * sa;
}

/** The instant an RFC 3339 text (or valibot's looser ISO forms) says, in nanoseconds since 1970 UTC. */
export interface Instant {
  ns: bigint;
  /** The UTC date YYYY-MM-DD (years past 9999 with more digits). */
  utcDate: string;
  /** Why this text cannot be stored unchanged or breaks the contract (undefined: fine). */
  refuse?: string;
  /** True when the text is strict, uppercase RFC 3339 (T, Z or ±HH:MM, at most 6 fraction digits). */
  plain: boolean;
}

const TS = /^(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|( ?)([+-])(\d{2})(?::?(\d{2}))?)$/;
const NS_PER_DAY = 86_400n * 1_000_000_000n;

export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (y: number, m: number) => (m === 2 ? (isLeap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);

export const EARLIEST_NS = BigInt(daysFromCivil(1900, 1, 1)) * NS_PER_DAY;
/** The first instant whose UTC date has five digits (the lake's date=YYYY-MM-DD cannot name it). */
export const YEAR_10000_NS = BigInt(daysFromCivil(10000, 1, 1)) * NS_PER_DAY;

/** The instant of a timestamp text, or undefined when it is no timestamp at all. */
export function instantOf(text: string): Instant | undefined {
  const m = TS.exec(text);
  if (!m) return undefined;
  const [y, mo, d, hh, mi, ss] = [m[1], m[2], m[3], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number, number];
  const frac = m[8] ?? "";
  const offH = m[12] === undefined ? 0 : Number(m[12]);
  const offM = m[13] === undefined ? 0 : Number(m[13]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || hh > 23 || mi > 59 || ss > 60 || offH > 23 || offM > 59) return undefined;
  const fracNs = frac === "" ? 0n : BigInt((frac + "000000000").slice(0, 9));
  const lostDigits = frac.length > 9 && /[1-9]/.test(frac.slice(9));
  const sign = m[11] === "-" ? -1n : 1n;
  const offsetNs = m[9] !== undefined ? 0n : sign * BigInt(offH * 3600 + offM * 60) * 1_000_000_000n;
  const local = BigInt(daysFromCivil(y, mo, d)) * NS_PER_DAY + BigInt(hh * 3600 + mi * 60 + ss) * 1_000_000_000n + fracNs;
  const ns = local - offsetNs;
  const days = Number((ns >= 0n ? ns : ns - NS_PER_DAY + 1n) / NS_PER_DAY);
  const [uy, um, ud] = civilFromDays(days);
  const utcDate = `${String(uy).padStart(4, "0")}-${String(um).padStart(2, "0")}-${String(ud).padStart(2, "0")}`;
  let refuse: string | undefined;
  if (ss === 60) refuse = "a leap second (:60) has no instant of its own in any store";
  else if (lostDigits || fracNs % 1000n !== 0n) refuse = "sub-microsecond digits: the stores hold microseconds";
  else if (ns < EARLIEST_NS) refuse = "before 1900-01-01T00:00:00Z";
  else if (ns >= YEAR_10000_NS) refuse = "UTC date past 9999-12-31 (the lake's date=YYYY-MM-DD)";
  const plain = m[4] === "T" && (m[9] === "Z" || (m[10] === "" && m[13] !== undefined && text.includes(`${m[12]}:${m[13]}`))) && frac.length <= 6;
  return { ns, utcDate, refuse, plain };
}

export type Verdict = "MUST_ACCEPT" | "MAY" | "MUST_REFUSE";

export interface OrderMeaning {
  verdict: Verdict;
  /** Why (for MAY and MUST_REFUSE). */
  reasons: string[];
  /** The fields' meanings (the last of a key given twice, as JSON.parse and ferry's checks read it). */
  strings: Partial<Record<"order_id" | "product" | "customer_id", string>>;
  quantity?: Decimal;
  price?: Decimal;
  orderedAt?: Instant;
}

const FIELDS = ["order_id", "product", "quantity", "price", "customer_id", "ordered_at"];
const LIMITS: Record<string, [number, number]> = { order_id: [1, 64], product: [1, 200], customer_id: [0, 64] };
const PRICE_MAX = decimalOf("9999999999.99");
const ZERO = decimalOf("0");
const ONE = decimalOf("1");
const MILLION = decimalOf("1000000");

const codePoints = (s: string) => [...s].length;
const sameJson = (a: JsonValue, b: JsonValue) => JSON.stringify(a) === JSON.stringify(b);

/** The Order contract's verdict on one JSON value (a record of a body or a Kafka value). */
export function meaningOf(v: JsonValue): OrderMeaning {
  const refuse: string[] = [];
  const may: string[] = [];
  const meaning: OrderMeaning = { verdict: "MUST_ACCEPT", reasons: [], strings: {} };
  if (v.kind !== "object") {
    return { ...meaning, verdict: "MUST_REFUSE", reasons: [`not an object (${v.kind})`] };
  }
  const last = new Map<string, JsonValue>();
  for (const [k, val] of v.entries) {
    const before = last.get(k);
    if (before !== undefined) (sameJson(before, val) ? may : refuse).push(`key ${JSON.stringify(k)} given twice${sameJson(before, val) ? " (same value)" : " with different values (one would be dropped)"}`);
    last.set(k, val);
  }
  for (const k of last.keys()) if (!FIELDS.includes(k)) refuse.push(`unknown field ${JSON.stringify(k)}`);
  for (const k of ["order_id", "product", "quantity", "price"]) if (!last.has(k)) refuse.push(`missing ${k}`);
  for (const k of ["order_id", "product", "customer_id"] as const) {
    const f = last.get(k);
    if (f === undefined) continue;
    if (f.kind !== "string") {
      refuse.push(`${k} is a ${f.kind}`);
      continue;
    }
    const s = f.value;
    meaning.strings[k] = s;
    const [min, max] = LIMITS[k]!;
    if (!s.isWellFormed()) refuse.push(`${k} holds an unpaired surrogate`);
    if (s.length < min) refuse.push(`${k} is empty`);
    if (codePoints(s) > max) refuse.push(`${k} is longer than ${max} characters`);
    else if (s.length > max) may.push(`${k}: ${codePoints(s)} code points but ${s.length} UTF-16 units (limit ${max})`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(s)) may.push(`${k} holds a control character`);
    if (s.includes("\uFEFF") || s.includes("\uFFFE") || s.includes("\uFFFF")) may.push(`${k} holds a BOM or non-character`);
  }
  const q = last.get("quantity");
  if (q !== undefined) {
    if (q.kind !== "number") refuse.push(`quantity is a ${q.kind}`);
    else {
      const d = decimalOf(q.text);
      meaning.quantity = d;
      if (decimalText(d, 0) === undefined) refuse.push(`quantity ${q.text} is not an integer`);
      else if (compareDecimal(d, ONE) < 0 || compareDecimal(d, MILLION) > 0) refuse.push(`quantity ${q.text} out of 1..1000000`);
      if (!/^(0|[1-9]\d*)$/.test(q.text)) may.push(`quantity written as ${q.text}`);
    }
  }
  const p = last.get("price");
  if (p !== undefined) {
    if (p.kind !== "number") refuse.push(`price is a ${p.kind}`);
    else {
      const d = decimalOf(p.text);
      meaning.price = d;
      if (decimalText(d, 2) === undefined) refuse.push(`price ${p.text} has more than 2 decimals`);
      else if (compareDecimal(d, ZERO) < 0 || compareDecimal(d, PRICE_MAX) > 0) refuse.push(`price ${p.text} out of 0..9999999999.99`);
      if (!/^(0|[1-9]\d*)(\.\d{1,2})?$/.test(p.text)) may.push(`price written as ${p.text}`);
    }
  }
  const c = last.get("customer_id");
  if (c?.kind === "null") may.push("customer_id is null");
  const t = last.get("ordered_at");
  if (t !== undefined) {
    if (t.kind !== "string") refuse.push(`ordered_at is a ${t.kind}`);
    else {
      const inst = instantOf(t.value);
      if (inst === undefined) refuse.push(`ordered_at ${JSON.stringify(t.value)} is no timestamp`);
      else {
        meaning.orderedAt = inst;
        if (inst.refuse) refuse.push(`ordered_at ${t.value}: ${inst.refuse}`);
        else if (!inst.plain) may.push(`ordered_at written as ${t.value}`);
      }
    }
  }
  if (refuse.length > 0) return { ...meaning, verdict: "MUST_REFUSE", reasons: [...refuse, ...may] };
  if (may.length > 0) return { ...meaning, verdict: "MAY", reasons: may };
  return meaning;
}

/** The verdict on a whole record text (JSON.parse's reading of it must agree with the oracle's). */
export function meaningOfText(text: string): OrderMeaning {
  if (text.startsWith("\uFEFF")) {
    const m = meaningOfText(text.slice(1));
    return m.verdict === "MUST_ACCEPT" ? { ...m, verdict: "MAY", reasons: ["a byte order mark before the JSON text"] } : m;
  }
  let v: JsonValue;
  try {
    v = readJson(text);
  } catch (e) {
    return { verdict: "MUST_REFUSE", reasons: [`not JSON: ${(e as Error).message}`], strings: {} };
  }
  return meaningOf(v);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The verdict on a record's bytes: bytes that are not UTF-8 must be refused (nothing may replace them). */
export function meaningOfBytes(bytes: Uint8Array): OrderMeaning {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { verdict: "MUST_REFUSE", reasons: ["bytes that are not UTF-8"], strings: {} };
  }
  return meaningOfText(text);
}
