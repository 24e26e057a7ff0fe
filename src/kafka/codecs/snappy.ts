/**
 * Snappy decompression in plain TypeScript, for Kafka record batches with compression type 2.
 * Kafka's Java producer writes the "xerial" framing (snappy-java's stream format: a 16-byte
 * header, then blocks each prefixed with its big-endian length); other clients write one raw block.
 * Both are read. https://github.com/google/snappy/blob/main/format_description.txt
 */

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER = 16;

export class SnappyError extends Error {}

function isXerial(input: Uint8Array): boolean {
  return input.length >= XERIAL_HEADER && XERIAL_MAGIC.every((b, i) => input[i] === b);
}

/** Decompresses a raw snappy block. */
export function snappyBlockDecompress(input: Uint8Array): Uint8Array {
  // Preamble: the uncompressed length as a little-endian varint.
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new SnappyError("snappy: bad length preamble");
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const type = tag & 3;
    if (type === 0) {
      // literal
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        if (pos + bytes > input.length) throw new SnappyError("snappy: truncated literal length");
        len = 0;
        for (let i = 0; i < bytes; i++) len |= input[pos + i]! << (8 * i);
        len = len >>> 0;
        pos += bytes;
      }
      len += 1;
      if (pos + len > input.length || o + len > length) throw new SnappyError("snappy: literal out of bounds");
      out.set(input.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos++]!;
    } else if (type === 2) {
      len = (tag >>> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      len = (tag >>> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (pos > input.length) throw new SnappyError("snappy: truncated copy");
    if (offset === 0 || offset > o || o + len > length) throw new SnappyError("snappy: copy out of bounds");
    if (offset >= len) {
      out.copyWithin(o, o - offset, o - offset + len);
      o += len;
    } else {
      for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
    }
  }
  if (o !== length) throw new SnappyError(`snappy: expected ${length} bytes, got ${o}`);
  return out;
}

/** Decompresses Kafka snappy data: xerial-framed (Java producers) or one raw block. */
export function snappyDecompress(input: Uint8Array): Uint8Array {
  if (!isXerial(input)) return snappyBlockDecompress(input);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const blocks: Uint8Array[] = [];
  let total = 0;
  for (let pos = XERIAL_HEADER; pos < input.length; ) {
    if (pos + 4 > input.length) throw new SnappyError("snappy: truncated xerial block header");
    const size = view.getUint32(pos);
    pos += 4;
    if (pos + size > input.length) throw new SnappyError("snappy: truncated xerial block");
    const block = snappyBlockDecompress(input.subarray(pos, pos + size));
    blocks.push(block);
    total += block.length;
    pos += size;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}
