/**
 * JSON text → values, without a silent change of a number. `JSON.parse` reads every number as the
 * nearest double: `1e-401` becomes 0, `1.0000000000000001` becomes 1, `1e400` Infinity, and a
 * record would be stored as another value than the one sent. Here a number is accepted only when
 * its double, written back as the shortest decimal that reads as it (what every store keeps), is
 * the same decimal value as its text (`1e2`, `100.0` and `100` all mean 100; `-0` means 0).
 *
 * On the good path this costs one scan of the text: a number with at most 15 significant digits
 * and no exponent always reads back as written (a double holds 15 decimal digits), so only a text
 * with a run of 16 digits-or-dots or an exponent is parsed with the check (JSON.parse's reviver,
 * which sees each number's source text).
 */

/** A number whose text means another value than any store would hold. */
export interface InexactNumber {
  /** Where it is: keys and array indexes from the top of the text. */
  path: (string | number)[];
  /** The number as written. */
  source: string;
  /** What it reads as. */
  reading: number;
}

export interface ParsedJson {
  value: unknown;
  /** Numbers that do not read back as written (none: the value means what the text says). */
  inexact: InexactNumber[];
}

/** Text that may hold a number of 16 or more significant digits, or an exponent. */
const MAYBE_INEXACT = /[\d.]{16}|\d[eE][+-]?\d/;

/** Parses JSON (throws SyntaxError like JSON.parse) and names every number that would change. */
export function parseExactJson(text: string): ParsedJson {
  if (!MAYBE_INEXACT.test(text)) return { value: JSON.parse(text), inexact: [] };
  const found: { holder: object; key: string; source: string; reading: number }[] = [];
  const value = JSON.parse(text, function (this: object, key: string, v: unknown, context?: { source?: string }) {
    if (typeof v === "number" && context?.source !== undefined && !readsAsWritten(context.source, v)) found.push({ holder: this, key, source: context.source, reading: v });
    return v;
  });
  if (found.length === 0) return { value, inexact: [] };
  const paths = pathsOf(value, new Set(found.map((f) => f.holder)));
  return {
    value,
    inexact: found.map((f) => {
      const base = paths.get(f.holder) ?? [];
      // The reviver's root holder is a wrapper { "": value }: its key is not part of the path.
      const path = paths.has(f.holder) ? [...base, Array.isArray(f.holder) ? Number(f.key) : f.key] : [];
      return { path, source: f.source, reading: f.reading };
    }),
  };
}

/** The paths of the given objects within `root` (depth first; only called when a number was inexact). */
function pathsOf(root: unknown, wanted: Set<object>): Map<object, (string | number)[]> {
  const out = new Map<object, (string | number)[]>();
  const stack: [unknown, (string | number)[]][] = [[root, []]];
  while (stack.length > 0 && out.size < wanted.size) {
    const [node, path] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (wanted.has(node)) out.set(node, path);
    if (Array.isArray(node)) node.forEach((child, i) => stack.push([child, [...path, i]]));
    else for (const [k, child] of Object.entries(node)) stack.push([child, [...path, k]]);
  }
  return out;
}

/** True when the JSON number `source` and the double `value` are the same decimal value. */
export function readsAsWritten(source: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const a = decimalOf(source);
  const b = decimalOf(String(value));
  return a.digits === b.digits && a.exponent === b.exponent && a.negative === b.negative;
}

/** A decimal as sign, significant digits (no leading or trailing zeros) and the power of ten of the last one; zero is "". */
function decimalOf(text: string): { negative: boolean; digits: string; exponent: number } {
  let s = text;
  const negative = s.startsWith("-");
  if (negative || s.startsWith("+")) s = s.slice(1);
  let exponent = 0;
  const e = s.search(/[eE]/);
  if (e >= 0) {
    exponent = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf(".");
  if (dot >= 0) {
    exponent -= s.length - dot - 1;
    s = s.slice(0, dot) + s.slice(dot + 1);
  }
  s = s.replace(/^0+/, "");
  const trimmed = s.replace(/0+$/, "");
  exponent += s.length - trimmed.length;
  if (trimmed === "") return { negative: false, digits: "", exponent: 0 };
  return { negative, digits: trimmed, exponent };
}

/** The reason given for an inexact number (a field's issue message). */
export function inexactMessage(n: InexactNumber): string {
  const shown = n.source.length > 40 ? `${n.source.slice(0, 37)}...` : n.source;
  return `the number ${shown} cannot be stored as written: it reads as ${String(n.reading)} (send it with at most 15 significant digits)`;
}
