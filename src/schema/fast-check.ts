/**
 * A fast yes/no check compiled from a record schema, for the hot path (the sink checks every
 * Kafka record). It reads the same valibot schema — its objects, types, lengths, ranges and
 * `check` functions — so no rule is written twice, but it builds no issues and no output object:
 * `true` means valibot accepts the value and would output it unchanged (no transformation),
 * `false` means "ask valibot", which then says why (or, for a value this check is too strict for,
 * accepts it). A schema using anything this compiler does not know compiles to `undefined`.
 */
import type * as v from "valibot";
import { isWellFormedText } from "./rules.ts";

export type FastCheck = (input: unknown) => boolean;

type Node = { kind: string; type: string; requirement?: unknown; pipe?: Node[]; entries?: Record<string, Node>; wrapped?: Node; default?: unknown };
type Test = (x: never) => boolean;

/** Compiles `schema`, or `undefined` when it uses a schema or action the compiler does not know. */
export function compileFastCheck(schema: v.GenericSchema): FastCheck | undefined {
  try {
    return compile(schema as unknown as Node);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

class Unsupported extends Error {}

/** A schema's actions (its pipe after the schema itself), metadata aside. */
const actionsOf = (node: Node): Node[] => (node.pipe ?? []).slice(1).filter((a) => a.kind !== "metadata");

function compile(node: Node): FastCheck {
  const own = compileType(node);
  const actions = actionsOf(node).map(compileAction);
  if (actions.length === 0) return own;
  return (x) => {
    if (!own(x)) return false;
    for (let i = 0; i < actions.length; i++) if (!actions[i]!(x as never)) return false;
    return true;
  };
}

function compileType(node: Node): FastCheck {
  switch (node.type) {
    case "string":
      return (x) => typeof x === "string";
    case "number":
      return (x) => typeof x === "number" && !Number.isNaN(x);
    case "boolean":
      return (x) => typeof x === "boolean";
    case "optional": {
      // A default would change the output: not this compiler's case.
      if (node.default !== undefined) throw new Unsupported();
      const inner = compile(node.wrapped!);
      return (x) => x === undefined || inner(x);
    }
    case "strict_object": {
      const fields = Object.entries(node.entries!).map(([key, entry]) => ({ key, check: compile(entry) }));
      const known = new Set(fields.map((f) => f.key));
      return (x) => {
        if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
        const record = x as Record<string, unknown>;
        for (const key in record) if (!known.has(key)) return false;
        for (const f of fields) if (!f.check(record[f.key])) return false;
        return true;
      };
    }
    default:
      throw new Unsupported();
  }
}

function compileAction(action: Node): Test {
  if (action.kind !== "validation") throw new Unsupported();
  const r = action.requirement as never;
  switch (action.type) {
    case "min_length":
      return (x: string) => x.length >= r;
    case "max_length":
      return (x: string) => x.length <= r;
    case "min_value":
      return (x: number) => x >= r;
    case "max_value":
      return (x: number) => x <= r;
    case "integer":
    case "check":
      return r as (x: unknown) => boolean;
    case "iso_timestamp":
    case "regex":
      return (x: string) => (r as RegExp).test(x);
    default:
      throw new Unsupported();
  }
}

/**
 * The same check on a record's JSON text as bytes, without JSON.parse and without an object: the
 * index of the object's closing brace when the text is a plain rendering of a record `check`
 * accepts, or -1 for "ask JSON.parse and valibot" (which then say why, or accept what this scanner
 * leaves to them). It knows a subset of JSON: a flat object of the schema's string, number and
 * boolean fields, each key once; strings of printable ASCII without escapes; numbers without an
 * exponent and with at most 15 significant digits (read exactly: an integer below 2^53 divided by
 * an exact power of ten, the one correctly rounded division JSON.parse's answer equals); spaces,
 * tabs and CRs between tokens (a line break: -1, rows are one line each). Each value goes through
 * the field's compiled check. `present` lists optional fields that must be there for a yes (fields
 * the caller would otherwise fill in): a text valid but for lacking some of them answers
 * `lacking(close)` (below -1; `lackingAt` reads it back), so the caller fills them in without a
 * second scan.
 */
export type BytesCheck = (bytes: Uint8Array) => number;

/** The answer for a valid text that lacks some `present` fields, its closing brace at `close`. */
const lacking = (close: number) => -2 - close;
/** Where the closing brace of a text that lacks `present` fields is, or -1 (any other answer). */
export const lackingAt = (answer: number) => (answer <= -2 ? -2 - answer : -1);

export function compileBytesCheck(schema: v.GenericSchema, present: readonly string[] = []): BytesCheck | undefined {
  try {
    return compileBytes(schema as unknown as Node, present);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** Exact powers of ten (10^22 is the largest a double holds exactly). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const MAX_DIGITS = 15;

function compileBytes(node: Node, present: readonly string[]): BytesCheck {
  if (actionsOf(node).length > 0) throw new Unsupported();
  if (node.type !== "strict_object") throw new Unsupported();
  const fields = Object.entries(node.entries!).map(([key, entry]) => {
    const inner = entry.type === "optional" ? entry.wrapped! : entry;
    if (entry.type === "optional" && entry.default !== undefined) throw new Unsupported();
    if (inner.type !== "string" && inner.type !== "number" && inner.type !== "boolean") throw new Unsupported();
    if (!/^[\x20-\x7e]*$/.test(key) || key.includes('"') || key.includes("\\")) throw new Unsupported();
    const actions = actionsOf(inner);
    // A string checked for its length only is not made into a string (its bytes are printable
    // ASCII: one character each, and always valid Unicode).
    const isLength = (a: Node) => a.kind === "validation" && (a.type === "min_length" || a.type === "max_length");
    const lengthOnly = inner.type === "string" && actions.every((a) => isLength(a) || (a.type === "check" && a.requirement === isWellFormedText));
    return {
      key: Buffer.from(key, "latin1"),
      type: inner.type,
      check: compile(inner),
      byLength: lengthOnly ? lengthCheck(actions.filter(isLength).map(compileAction)) : undefined,
      required: entry.type !== "optional",
    };
  });
  if (fields.length > 30) throw new Unsupported();
  for (const p of present) if (!(p in node.entries!)) throw new Unsupported();
  const requiredMask = fields.reduce((m, f, i) => (f.required ? m | (1 << i) : m), 0);
  const presentMask = fields.reduce((m, f, i) => (present.includes(f.key.toString("latin1")) ? m | (1 << i) : m), 0);
  const isSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0d;

  /** The field whose name is bytes [start, end), or -1. */
  function fieldAt(b: Uint8Array, start: number, end: number): number {
    const length = end - start;
    outer: for (let i = 0; i < fields.length; i++) {
      const k = fields[i]!.key;
      if (k.length !== length) continue;
      for (let j = 0; j < length; j++) if (k[j] !== b[start + j]) continue outer;
      return i;
    }
    return -1;
  }

  /** End of a plain string starting after its opening quote at `at`, or -1. */
  function stringEnd(b: Uint8Array, at: number): number {
    for (let i = at; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) return i;
      if (c < 0x20 || c === BACKSLASH || c > 0x7e) return -1;
    }
    return -1;
  }

  return (b) => {
    let i = 0;
    while (isSpace(b[i])) i++;
    if (b[i] !== OPEN) return -1;
    i++;
    let seen = 0;
    for (;;) {
      while (isSpace(b[i])) i++;
      if (b[i] !== QUOTE) return -1;
      const keyEnd = stringEnd(b, i + 1);
      if (keyEnd < 0) return -1;
      const f = fieldAt(b, i + 1, keyEnd);
      if (f < 0 || (seen & (1 << f)) !== 0) return -1;
      seen |= 1 << f;
      const field = fields[f]!;
      i = keyEnd + 1;
      while (isSpace(b[i])) i++;
      if (b[i] !== COLON) return -1;
      i++;
      while (isSpace(b[i])) i++;
      const c = b[i];
      if (c === QUOTE) {
        if (field.type !== "string") return -1;
        const end = stringEnd(b, i + 1);
        if (end < 0) return -1;
        if (field.byLength ? !field.byLength(end - i - 1) : !field.check((b as Buffer).toString("latin1", i + 1, end))) return -1;
        i = end + 1;
      } else if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
        if (field.type !== "number") return -1;
        const negative = c === MINUS;
        if (negative) i++;
        let mantissa = 0;
        let digits = 0;
        const first = b[i];
        if (first === ZERO) i++;
        else if (first !== undefined && first > ZERO && first <= NINE) {
          for (let d: number | undefined = first; d !== undefined && d >= ZERO && d <= NINE; d = b[++i]) {
            mantissa = mantissa * 10 + (d - ZERO);
            digits++;
          }
        } else return -1;
        let decimals = 0;
        if (b[i] === DOT) {
          const from = ++i;
          for (let d = b[i]; d !== undefined && d >= ZERO && d <= NINE; d = b[++i]) {
            mantissa = mantissa * 10 + (d - ZERO);
            if (mantissa > 0) digits++;
          }
          decimals = i - from;
          if (decimals === 0) return -1;
        }
        if (digits > MAX_DIGITS || decimals >= POW10.length) return -1;
        const magnitude = decimals === 0 ? mantissa : mantissa / POW10[decimals]!;
        if (!field.check(negative ? -magnitude : magnitude)) return -1;
      } else if (c === 0x74 || c === 0x66) {
        if (field.type !== "boolean") return -1;
        const word = c === 0x74 ? TRUE : FALSE;
        for (let j = 0; j < word.length; j++) if (b[i + j] !== word[j]) return -1;
        if (!field.check(c === 0x74)) return -1;
        i += word.length;
      } else return -1;
      while (isSpace(b[i])) i++;
      if (b[i] === COMMA) {
        i++;
        continue;
      }
      if (b[i] !== CLOSE) return -1;
      const close = i++;
      while (isSpace(b[i])) i++;
      if (i !== b.length || (seen & requiredMask) !== requiredMask) return -1;
      return (seen & presentMask) === presentMask ? close : lacking(close);
    }
  };
}

const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");

/** A string's compiled length tests (min_length, max_length: they read only `length`) as a test of a length. */
function lengthCheck(tests: Test[]): (length: number) => boolean {
  const probe = { length: 0 };
  return (length) => {
    probe.length = length;
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(probe as never)) return false;
    return true;
  };
}
