/**
 * JSON text → values, without a silent change of a number. `JSON.parse` reads every number as the
 * nearest double: `1e-401` becomes 0, `1.0000000000000001` becomes 1, `1e400` Infinity, and a
 * record would be stored as another value than the one sent. Here a number is accepted only when
 * its double, written back as the shortest decimal that reads as it (what every store keeps), is
 * the same decimal value as its text (`1e2`, `100.0` and `100` all mean 100; `-0` means 0).
 *
 * On the good path this costs one walk over the text's quotes and colons (native indexOf scans),
 * which also finds keys given twice: a number with at most 15 significant digits and no exponent
 * always reads back as written (a double holds 15 decimal digits), so only a text with a member
 * value of 16 digits or an exponent is parsed with the check (JSON.parse's reviver, which sees each
 * number's source text). A text that holds arrays, or is no object, is searched for such numbers
 * anywhere (a regular expression).
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
  const members = colonsOutsideStrings(text);
  const risky = text.indexOf("[") >= 0 || !isObjectText(text) ? MAYBE_INEXACT.test(text) : riskyMember;
  const parsed = risky ? parseNumbersExactly(text) : { value: JSON.parse(text) as unknown, inexact: NONE };
  // Each member of every object has one ':' outside strings: fewer keys than those means a key was given twice.
  return { value: parsed.value, inexact: parsed.inexact, duplicates: members === keysIn(parsed.value) ? NONE : duplicateKeys(text) };
}

/** True when the text's first character past white space opens an object. */
function isObjectText(text: string): boolean {
  let i = 0;
  let c = text.charCodeAt(0);
  while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = text.charCodeAt(++i);
  return c === 0x7b;
}

/** The answer "none" of the good path (one shared empty list: no allocation per record). */
const NONE = Object.freeze([]) as unknown as never[];

function parseNumbersExactly(text: string): Omit<ParsedJson, "duplicates"> {
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

/**
 * The number of ':' outside strings of a (valid) JSON text: the colons and the strings' quotes
 * found by native indexOf scans, merged in order (an escaped quote is told by the backslashes before it).
 */
function colonsOutsideStrings(text: string): number {
  let n = 0;
  riskyMember = false;
  let colon = text.indexOf(":");
  let open = text.indexOf('"');
  while (colon >= 0) {
    if (open < 0 || colon < open) {
      n++;
      if (!riskyMember) riskyMember = mayChange(text, colon + 1);
      colon = text.indexOf(":", colon + 1);
      continue;
    }
    // The string's closing quote: the next one not escaped (preceded by an even run of backslashes).
    let close = open;
    for (;;) {
      close = text.indexOf('"', close + 1);
      if (close < 0) return n;
      let backslashes = 0;
      while (text.charCodeAt(close - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    if (colon < close) colon = text.indexOf(":", close + 1);
    open = text.indexOf('"', close + 1);
  }
  return n;
}

/** Set by colonsOutsideStrings: some member's value is a number of 16 digits or more, or with an exponent. */
let riskyMember = false;

/** True when the value at `at` is a number of 16 digits or more, or with an exponent (one that may not read as written). */
function mayChange(text: string, at: number): boolean {
  let i = at;
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = text.charCodeAt(++i);
  if (c === 0x2d) c = text.charCodeAt(++i);
  let digits = 0;
  for (; ; c = text.charCodeAt(++i)) {
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x65 || c === 0x45) return digits > 0;
    else if (c !== 0x2e) return digits >= 16;
  }
}

/** The number of members of every object in a value (a flat record: one loop, no stack). */
function keysIn(root: unknown): number {
  let n = 0;
  let stack: unknown[] | undefined;
  let node = root;
  for (;;) {
    if (typeof node === "object" && node !== null) {
      if (Array.isArray(node)) {
        for (const child of node) if (typeof child === "object" && child !== null) (stack ??= []).push(child);
      } else
        for (const key in node) {
          n++;
          const child = (node as Record<string, unknown>)[key];
          if (typeof child === "object" && child !== null) (stack ??= []).push(child);
        }
    }
    if (stack === undefined || stack.length === 0) return n;
    node = stack.pop();
  }
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
