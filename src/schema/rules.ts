/** Small checks shared by the record schemas (valibot `check` actions). */

/** True when a number has at most two decimals (0.1 + 0.2 style float noise tolerated). */
export function hasAtMostTwoDecimals(n: number): boolean {
  const cents = n * 100;
  return Number.isFinite(cents) && Math.abs(cents - Math.round(cents)) < 1e-6;
}

/** True when a syntactically valid timestamp is also a real instant (no February 30th). */
export function isRealTimestamp(s: string): boolean {
  const t = Date.parse(s.replace(" ", "T"));
  if (Number.isNaN(t)) return false;
  const [y, m, d] = s.slice(0, 10).split("-").map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, m - 1, d));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d;
}

/** The earliest instant a lake timestamp may hold: Spark refuses older Parquet timestamps by default. */
export const EARLIEST_TIMESTAMP = "1900-01-01T00:00:00Z";
const EARLIEST_MS = Date.parse(EARLIEST_TIMESTAMP);

/** True when a (real) timestamp is not before EARLIEST_TIMESTAMP. */
export function isNotBefore1900(s: string): boolean {
  return Date.parse(s.replace(" ", "T")) >= EARLIEST_MS;
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
