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

/** A key given twice in one object: JSON.parse keeps the last value and drops the other silently. */
export interface DuplicateKey {
  /** The object's path, then the key. */
  path: (string | number)[];
}

export interface ParsedJson {
  value: unknown;
  /** Numbers that do not read back as written (none: the value means what the text says). */
  inexact: InexactNumber[];
  /** Keys given twice (none: every value of the text is in `value`). */
  duplicates: DuplicateKey[];
}

/** Text that may hold a number of 16 or more significant digits, or an exponent. */
const MAYBE_INEXACT = /[\d.]{16}|\d[eE][+-]?\d/;

/** Parses JSON (throws SyntaxError like JSON.parse) and names every number that would change and every key given twice. */
export function parseExactJson(text: string): ParsedJson {
  const parsed = parseNumbersExactly(text);
  // Each member of every object has one ':' outside strings: fewer keys than those means a key was given twice.
  const duplicates = colonsOutsideStrings(text) === keysIn(parsed.value) ? [] : duplicateKeys(text);
  return { ...parsed, duplicates };
}

function parseNumbersExactly(text: string): Omit<ParsedJson, "duplicates"> {
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

/** The number of ':' outside strings of a JSON text (native indexOf scans; escapes are counted back). */
function colonsOutsideStrings(text: string): number {
  let n = 0;
  let i = 0;
  for (;;) {
    const quote = text.indexOf('"', i);
    const end = quote < 0 ? text.length : quote;
    for (let c = text.indexOf(":", i); c >= 0 && c < end; c = text.indexOf(":", c + 1)) n++;
    if (quote < 0) return n;
    // The string's closing quote: the next one not escaped (preceded by an even run of backslashes).
    let j = quote + 1;
    for (;;) {
      const close = text.indexOf('"', j);
      if (close < 0) return n;
      let backslashes = 0;
      while (text.charCodeAt(close - 1 - backslashes) === 0x5c) backslashes++;
      j = close + 1;
      if (backslashes % 2 === 0) break;
    }
    i = j;
  }
}

/** The number of members of every object in a value. */
function keysIn(root: unknown): number {
  let n = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    if (Array.isArray(node)) for (const child of node) stack.push(child);
    else
      for (const key in node) {
        n++;
        stack.push((node as Record<string, unknown>)[key]);
      }
  }
  return n;
}

/** Where keys are given twice in a (valid) JSON text: a scan with a set of keys per open object. */
function duplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  /** Open containers: an object's keys seen and the key being read, or an array's next index. */
  const open: ({ keys: Set<string>; key: string } | { index: number })[] = [];
  const pathHere = () => open.map((c) => ("keys" in c ? c.key : c.index));
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = open[open.length - 1];
      let k = j + 1;
      while (k < text.length && " \t\n\r".includes(text[k]!)) k++;
      if (top && "keys" in top && text[k] === ":") {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        top.key = key;
        if (top.keys.has(key)) found.push({ path: pathHere() });
        top.keys.add(key);
      }
      i = j + 1;
    } else if (c === "{") {
      open.push({ keys: new Set(), key: "" });
      i++;
    } else if (c === "[") {
      open.push({ index: 0 });
      i++;
    } else if (c === "}" || c === "]") {
      open.pop();
      i++;
    } else if (c === ",") {
      const top = open[open.length - 1];
      if (top && "index" in top) top.index++;
      i++;
    } else i++;
  }
  return found;
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

/** The reason given for a key given twice. */
export const DUPLICATE_MESSAGE = "is given twice in the object (JSON keeps one value and drops the other: nothing is dropped silently)";

/** The reason given for an inexact number (a field's issue message). */
export function inexactMessage(n: InexactNumber): string {
  const shown = n.source.length > 40 ? `${n.source.slice(0, 37)}...` : n.source;
  return `the number ${shown} cannot be stored as written: it reads as ${String(n.reading)} (send it with at most 15 significant digits)`;
}
