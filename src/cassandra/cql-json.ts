/**
 * CQL values → JSON, without loss, and the JSON Schema of what comes out — both derived from one
 * walk of the column's CQL type, so the two cannot disagree.
 *
 * Values are as cassandra-driver decodes them with the client options in client.ts
 * (`useBigIntAsLong`, `useBigIntAsVarint`, maps as `Map`). Each encoder returns a JSON text
 * fragment, so exact forms that `JSON.stringify` cannot write survive:
 *   bigint, counter       JSON integer with every digit (beyond 2^53 too)
 *   varint, decimal       strings, exact ("-12345678901234567890", "1.2300", "1E+3" → "1000")
 *   float                 shortest decimal that reads back as the same 32-bit float (1.1, not 1.100000023841858)
 *   double                JSON number; NaN and ±Infinity (not JSON numbers) as strings "NaN", "Infinity", "-Infinity"
 *   timestamp             RFC 3339 UTC with milliseconds; date "YYYY-MM-DD"; time "HH:MM:SS[.fraction]" to the ns
 *   duration              ISO 8601 (months, days and nanoseconds kept apart: "P1Y2M25DT5H6M7.008009010S")
 *   uuid, timeuuid, inet  strings; blob base64; boolean; list, set, tuple, vector → arrays
 *   map                   object; a key that is not text is written as its JSON text ("3", "[1,\"a\"]")
 *   udt                   object of its fields; null → null
 */
import type { JsonSchema } from "../schema/json-schema.ts";

/** A column type as the driver's table metadata describes it. */
export interface CqlType {
  code: number;
  info?: unknown;
  customTypeName?: string;
}

export type JsonEncoder = (value: unknown) => string;

/** cassandra-driver's `types.dataTypes` codes (kept here so this file needs no driver import). */
export const CQL = {
  custom: 0x00, ascii: 0x01, bigint: 0x02, blob: 0x03, boolean: 0x04, counter: 0x05, decimal: 0x06,
  double: 0x07, float: 0x08, int: 0x09, text: 0x0a, timestamp: 0x0b, uuid: 0x0c, varchar: 0x0d,
  varint: 0x0e, timeuuid: 0x0f, inet: 0x10, date: 0x11, time: 0x12, smallint: 0x13, tinyint: 0x14,
  duration: 0x15, list: 0x20, map: 0x21, set: 0x22, udt: 0x30, tuple: 0x31,
} as const;

const NAMES = Object.fromEntries(Object.entries(CQL).map(([k, v]) => [v, k])) as Record<number, string>;

export class UnsupportedCqlType extends Error {}

const str = (s: string) => JSON.stringify(s);
const text: JsonEncoder = (v) => str(v as string);
const plain: JsonEncoder = (v) => String(v);
const asString: JsonEncoder = (v) => str(String(v));

function double(v: unknown): string {
  const n = v as number;
  return Number.isFinite(n) ? String(n) : str(String(n));
}

/** The shortest decimal that parses back to the same 32-bit float. */
export function float32Text(n: number): string {
  if (!Number.isFinite(n)) return str(String(n));
  for (let p = 1; p <= 9; p++) {
    const s = n.toPrecision(p);
    if (Math.fround(Number(s)) === n) return String(Number(s));
  }
  return String(n);
}

/** BigDecimal from its unscaled integer and scale (the driver's toString mangles negative scales). */
export function decimalText(v: unknown): string {
  const d = v as { _intVal: { toString(): string }; _scale: number };
  const digits = d._intVal.toString();
  const scale = d._scale;
  if (scale <= 0) return str(digits === "0" ? "0" : digits + "0".repeat(-scale));
  const negative = digits.startsWith("-");
  const abs = (negative ? digits.slice(1) : digits).padStart(scale + 1, "0");
  return str(`${negative ? "-" : ""}${abs.slice(0, abs.length - scale)}.${abs.slice(abs.length - scale)}`);
}

const pad = (n: bigint | number, width: number) => String(n).padStart(width, "0");

/** Nanoseconds as seconds with a fraction of 3, 6 or 9 digits (none when whole). */
function secondsText(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const f = ns % 1_000_000_000n;
  if (f === 0n) return pad(s, 2);
  let frac = pad(f, 9);
  while (frac.endsWith("000")) frac = frac.slice(0, -3);
  return `${pad(s, 2)}.${frac}`;
}

export function timeText(v: unknown): string {
  const ns = BigInt((v as { getTotalNanoseconds(): { toString(): string } }).getTotalNanoseconds().toString());
  const h = ns / 3_600_000_000_000n;
  const m = (ns / 60_000_000_000n) % 60n;
  return str(`${pad(h, 2)}:${pad(m, 2)}:${secondsText(ns % 60_000_000_000n)}`);
}

export function durationText(v: unknown): string {
  const d = v as { months: number; days: number; nanoseconds: { toString(): string } };
  const ns = BigInt(d.nanoseconds.toString());
  // Cassandra keeps the three parts with one sign.
  const negative = d.months < 0 || d.days < 0 || ns < 0n;
  const months = Math.abs(d.months);
  const days = Math.abs(d.days);
  const nanos = ns < 0n ? -ns : ns;
  let out = `${negative ? "-" : ""}P`;
  if (months >= 12) out += `${Math.floor(months / 12)}Y`;
  if (months % 12) out += `${months % 12}M`;
  if (days) out += `${days}D`;
  if (nanos) {
    out += "T";
    const h = nanos / 3_600_000_000_000n;
    const m = (nanos / 60_000_000_000n) % 60n;
    const rest = nanos % 60_000_000_000n;
    if (h) out += `${h}H`;
    if (m) out += `${m}M`;
    if (rest) out += `${secondsText(rest).replace(/^0(?=\d)/, "")}S`;
  }
  return str(out === "P" || out === "-P" ? "PT0S" : out);
}

function typeName(t: CqlType): string {
  return t.customTypeName ?? NAMES[t.code] ?? `type ${t.code}`;
}

/** A map key as an object key: text as it is, anything else as its JSON text (a JSON string unquoted). */
function keyOf(encode: JsonEncoder): JsonEncoder {
  return (k) => {
    const json = encode(k);
    return json.startsWith('"') ? json : str(json);
  };
}

function nullable(encode: JsonEncoder): JsonEncoder {
  return (v) => (v === null || v === undefined ? "null" : encode(v));
}

/** The JSON encoder of a (non-null) value of this type; nested values may be null. */
export function encoderFor(t: CqlType): JsonEncoder {
  switch (t.code) {
    case CQL.ascii:
    case CQL.text:
    case CQL.varchar:
      return text;
    case CQL.int:
    case CQL.smallint:
    case CQL.tinyint:
    case CQL.bigint:
    case CQL.counter:
    case CQL.boolean:
      return plain;
    case CQL.varint:
    case CQL.uuid:
    case CQL.timeuuid:
    case CQL.inet:
      return asString;
    case CQL.decimal:
      return decimalText;
    case CQL.float:
      return (v) => float32Text(v as number);
    case CQL.double:
      return double;
    case CQL.timestamp:
      return (v) => str((v as Date).toISOString());
    case CQL.date:
      return asString;
    case CQL.time:
      return timeText;
    case CQL.duration:
      return durationText;
    case CQL.blob:
      return (v) => str((v as Buffer).toString("base64"));
    case CQL.list:
    case CQL.set: {
      const item = nullable(encoderFor(t.info as CqlType));
      return (v) => `[${(v as unknown[]).map(item).join(",")}]`;
    }
    case CQL.map: {
      const [kt, vt] = t.info as [CqlType, CqlType];
      const key = keyOf(encoderFor(kt));
      const value = nullable(encoderFor(vt));
      return (v) => {
        const parts: string[] = [];
        for (const [k, x] of v as Map<unknown, unknown>) parts.push(`${key(k)}:${value(x)}`);
        return `{${parts.join(",")}}`;
      };
    }
    case CQL.tuple: {
      const items = (t.info as CqlType[]).map((e) => nullable(encoderFor(e)));
      return (v) => `[${items.map((enc, i) => enc((v as { elements: unknown[] }).elements[i])).join(",")}]`;
    }
    case CQL.udt: {
      const fields = (t.info as { fields: { name: string; type: CqlType }[] }).fields.map((f) => ({ prefix: `${str(f.name)}:`, name: f.name, enc: nullable(encoderFor(f.type)) }));
      return (v) => `{${fields.map((f) => f.prefix + f.enc((v as Record<string, unknown>)[f.name])).join(",")}}`;
    }
    case CQL.custom: {
      if (t.customTypeName === "vector") {
        const item = encoderFor((t.info as [CqlType, number])[0]);
        return (v) => `[${(v as { elements: unknown[] }).elements.map(item).join(",")}]`;
      }
      // Any other custom type comes as its serialized bytes.
      return (v) => str((v as Buffer).toString("base64"));
    }
  }
  throw new UnsupportedCqlType(`unsupported CQL type ${typeName(t)}`);
}

const INT_RANGES: Record<number, [number, number]> = {
  [CQL.tinyint]: [-128, 127],
  [CQL.smallint]: [-32768, 32767],
  [CQL.int]: [-2147483648, 2147483647],
};
const NON_FINITE = { type: "string", enum: ["NaN", "Infinity", "-Infinity"] };

/** The JSON Schema (draft-07) of what encoderFor writes for this type. */
export function jsonSchemaFor(t: CqlType): JsonSchema {
  const orNull = (s: JsonSchema): JsonSchema => ({ anyOf: [s, { type: "null" }] });
  switch (t.code) {
    case CQL.ascii:
    case CQL.text:
    case CQL.varchar:
      return { type: "string" };
    case CQL.int:
    case CQL.smallint:
    case CQL.tinyint: {
      const [minimum, maximum] = INT_RANGES[t.code]!;
      return { type: "integer", minimum, maximum };
    }
    case CQL.bigint:
    case CQL.counter:
      return { type: "integer" };
    case CQL.boolean:
      return { type: "boolean" };
    case CQL.varint:
      return { type: "string", pattern: "^-?[0-9]+$" };
    case CQL.decimal:
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?$" };
    case CQL.float:
    case CQL.double:
      return { anyOf: [{ type: "number" }, NON_FINITE] };
    case CQL.uuid:
    case CQL.timeuuid:
      return { type: "string", format: "uuid" };
    case CQL.inet:
      return { type: "string", anyOf: [{ format: "ipv4" }, { format: "ipv6" }] };
    case CQL.timestamp:
      return { type: "string", format: "date-time" };
    case CQL.date:
      return { type: "string", format: "date" };
    case CQL.time:
      return { type: "string", pattern: "^[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{3,9})?$" };
    case CQL.duration:
      // Not format "duration": RFC 3339's grammar has no sign and no fractional seconds.
      return { type: "string", pattern: "^-?P(?!$)([0-9]+Y)?([0-9]+M)?([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\\.[0-9]+)?S)?)?$" };
    case CQL.blob:
      return { type: "string", contentEncoding: "base64" };
    case CQL.list:
      return { type: "array", items: orNull(jsonSchemaFor(t.info as CqlType)) };
    case CQL.set:
      return { type: "array", items: jsonSchemaFor(t.info as CqlType), uniqueItems: true };
    case CQL.map:
      return { type: "object", additionalProperties: orNull(jsonSchemaFor((t.info as [CqlType, CqlType])[1])) };
    case CQL.tuple: {
      const items = (t.info as CqlType[]).map((e) => orNull(jsonSchemaFor(e)));
      return { type: "array", items, minItems: items.length, maxItems: items.length };
    }
    case CQL.udt: {
      const fields = (t.info as { fields: { name: string; type: CqlType }[] }).fields;
      return {
        type: "object",
        properties: Object.fromEntries(fields.map((f) => [f.name, orNull(jsonSchemaFor(f.type))])),
        additionalProperties: false,
      };
    }
    case CQL.custom: {
      if (t.customTypeName === "vector") {
        const [item, size] = t.info as [CqlType, number];
        return { type: "array", items: jsonSchemaFor(item), minItems: size, maxItems: size };
      }
      return { type: "string", contentEncoding: "base64" };
    }
  }
  throw new UnsupportedCqlType(`unsupported CQL type ${typeName(t)}`);
}

export { nullable as nullableEncoder, keyOf as keyTextEncoder, typeName as cqlTypeName };
