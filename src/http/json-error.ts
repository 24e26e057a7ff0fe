/**
 * Where a JSON text breaks: the runtime's JSON.parse message rarely says, so on failure (only
 * then) a small scanner finds the first offending character and its line and column.
 */

export interface JsonBreak {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

export function findJsonBreak(text: string): JsonBreak {
  let i = 0;
  const fail = (reason: string): never => {
    throw { offset: i, reason };
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (const c of word) if (text[i++] !== c) ((i -= 1), fail(`invalid literal, expected ${word}`));
  };
  const string = () => {
    i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') return void i++;
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) (i++, fail("invalid \\u escape"));
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else (i++, fail("invalid escape in string"));
      } else if (c < " ") fail("control character in string");
      else i++;
    }
    fail("unterminated string");
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail("invalid number");
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === undefined) return fail("unexpected end of input");
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a quoted field name");
        string();
        ws();
        if (text[i] !== ":") fail('expected ":"');
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") return void i++;
        fail(text[i] === undefined ? "unexpected end of input" : 'expected "," or "}"');
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") return void i++;
        fail(text[i] === undefined ? "unexpected end of input" : 'expected "," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    fail(`unexpected character ${JSON.stringify(c)}`);
  };
  let found: { offset: number; reason: string } = { offset: text.length, reason: "invalid JSON" };
  try {
    value();
    ws();
    if (i < text.length) fail("unexpected data after the JSON value");
  } catch (e) {
    // The scanner recurses: a text nested past the stack's depth is named as such, where it got to.
    found = e instanceof RangeError ? { offset: i, reason: "nested too deeply" } : (e as typeof found);
  }
  const before = text.slice(0, found.offset);
  const line = before.split("\n").length;
  return { offset: found.offset, line, column: found.offset - before.lastIndexOf("\n"), reason: found.reason };
}
