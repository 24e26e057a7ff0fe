/** Strict UTF-8 decoding of request bodies: the offset of the first bad byte, against the runtime's own fatal decoder. */
import { expect, test } from "bun:test";
import { decodeUtf8, invalidUtf8Offset } from "../../../src/schema/utf8.ts";

test("valid text of every width decodes unchanged", () => {
  const text = "a é € 😀 \u{10FFFF} \u0000";
  expect(decodeUtf8(Buffer.from(text))).toEqual({ ok: true, text });
  expect(invalidUtf8Offset(Buffer.from(text))).toBe(-1);
});

test("each kind of invalid sequence is found at its first byte", () => {
  const cases: [number[], number][] = [
    [[0x61, 0xe9, 0x62], 1], // a lone latin-1 byte
    [[0x80], 0], // a continuation byte first
    [[0x61, 0xc3], 1], // truncated at the end
    [[0xc0, 0xaf], 0], // overlong "/"
    [[0xe0, 0x80, 0xaf], 0], // overlong, 3 bytes
    [[0xed, 0xa0, 0x80], 0], // a UTF-16 surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0x7b, 0xf0, 0x9f, 0x98, 0x80, 0xff], 5], // fine emoji, then 0xff
  ];
  for (const [bytes, offset] of cases) {
    const b = new Uint8Array(bytes);
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(b)).toThrow();
    expect(decodeUtf8(b)).toEqual({ ok: false, offset });
  }
});
