/** Small checks shared by the record schemas (valibot `check` actions). */
import * as v from "valibot";

/**
 * True when a number is a decimal of at most two decimals: the double nearest to some whole number
 * of cents divided by 100 (what the text "12.34" reads as). 0.30000000000000004 (0.1 + 0.2) or
 * 1e-9 are not: DECIMAL(12,2) would store another value than the one sent.
 */
export function hasAtMostTwoDecimals(n: number): boolean {
  return Number.isFinite(n) && Math.round(n * 100) / 100 === n;
}

/** True when a syntactically valid timestamp is also a real instant (no February 30th). */
export function isRealTimestamp(s: string): boolean {
  const c = canonicalUtcDate(s);
  if (c !== NOT_CANONICAL) return c !== NOT_A_DAY;
  const t = Date.parse(s.replace(" ", "T"));
  if (Number.isNaN(t)) return false;
  const [y, m, d] = s.slice(0, 10).split("-").map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, m - 1, d));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d;
}

/** The earliest instant a lake timestamp may hold: Spark refuses older Parquet timestamps by default. */
export const EARLIEST_TIMESTAMP = "1900-01-01T00:00:00Z";
const EARLIEST_MS = Date.parse(EARLIEST_TIMESTAMP);
/** The first instant a lake cannot hold: its folders are `date=YYYY-MM-DD` (four-digit years), as are Spark's dates. */
export const END_OF_TIMESTAMPS = "10000-01-01T00:00:00Z";
const END_MS = Date.UTC(10000, 0, 1);

/** True when a (real) timestamp is not before EARLIEST_TIMESTAMP. */
export function isNotBefore1900(s: string): boolean {
  const c = canonicalUtcDate(s);
  if (c > NOT_A_DAY) return c >= 1900_00_00;
  return Date.parse(s.replace(" ", "T")) >= EARLIEST_MS;
}

/** True when a (real) timestamp's UTC date has four digits (9999-12-31T23:59:59-23:59 is in the year 10000). */
export function isBefore10000(s: string): boolean {
  if (canonicalUtcDate(s) > NOT_A_DAY) return true;
  return Date.parse(s.replace(" ", "T")) < END_MS;
}

/**
 * True when a timestamp's fraction of a second fits in microseconds (what the table, the lake and
 * Spark hold): at most six digits, or more that are all zeros (the same instant).
 */
export function fitsMicroseconds(s: string): boolean {
  if (canonicalUtcDate(s) !== NOT_CANONICAL) return true; // at most 3 digits of a second
  const m = FRACTION.exec(s);
  return m === null || m[1]!.length <= 6 || /^0*$/.test(m[1]!.slice(6));
}
const FRACTION = /:\d\d\.(\d+)/;

/** True when a string is valid Unicode: no surrogate without its pair (JSON's `\ud800` alone). */
export const isWellFormedText = (s: string): boolean => s.isWellFormed();

/** The check of every string field: valid Unicode. */
export const validUnicode = v.check(isWellFormedText, wellFormedMessage);

/** Where a string breaks Unicode: names the first unpaired surrogate. */
export function wellFormedMessage(issue: { input: unknown }): string {
  const s = String(issue.input);
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    const paired = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
    if (paired) i += 2;
    else if (c >= 0xd800 && c <= 0xdfff) break;
    else i++;
  }
  const code = s.charCodeAt(i).toString(16);
  return `must be valid Unicode: it holds an unpaired surrogate \\u${code} at character ${i} (no store can hold it)`;
}

/**
 * The hot path of the two checks above (every record of the sink has a timestamp; Date.parse
 * costs more than the rest of a record's checks): for the shape nearly everyone sends,
 * YYYY-MM-DDTHH:MM:SS[.fff]Z with years from 1000, hours 00–23, minutes and seconds 00–59, the answer is plain
 * arithmetic, the same as the Date-based code gives (test/unit/schema/rules.test.ts compares
 * both). Returns YYYYMMDD, NOT_A_DAY (that shape, but no such day), or NOT_CANONICAL.
 */
function canonicalUtcDate(s: string): number {
  // Each timestamp goes through several checks in a row: the last answer is kept.
  if (s === lastInput) return lastDate;
  lastInput = s;
  lastDate = readCanonicalUtcDate(s);
  return lastDate;
}
let lastInput: string | undefined;
let lastDate = -1;

function readCanonicalUtcDate(s: string): number {
  if (!CANONICAL_UTC.test(s)) return NOT_CANONICAL;
  const y = digits(s, 0, 4);
  const m = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  if (y < 1000 || digits(s, 11, 2) > 23 || digits(s, 14, 2) > 59 || digits(s, 17, 2) > 59 || m < 1 || m > 12) return NOT_CANONICAL;
  if (d < 1 || d > daysInMonth(y, m)) return NOT_A_DAY;
  return y * 10_000 + m * 100 + d;
}

const CANONICAL_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z$/;
const NOT_CANONICAL = -1;
const NOT_A_DAY = 0;

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Message of a strict object's own issues: an unknown field, a missing one, or no object at all. */
export function objectMessage(issue: { expected: string | null; input: unknown }): string {
  if (issue.expected === "never") return `unknown field "${String(issue.input)}" (ferry never drops fields silently)`;
  if (issue.expected === "Object") return `must be a JSON object, got ${describeJson(issue.input)}`;
  return "is required";
}

function describeJson(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  return typeof x === "object" ? "an object" : `a ${typeof x}`;
}
