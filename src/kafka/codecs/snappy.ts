/**
 * Snappy decompression in plain TypeScript, for Kafka record batches with compression type 2.
 * Kafka's Java producer writes the "xerial" framing (snappy-java's stream format: a 16-byte
 * header, then blocks each prefixed with its big-endian length); other clients write one raw block.
 * Both are read. https://github.com/google/snappy/blob/main/format_description.txt
 */

import { InflateLimitError } from "./inflate-limit.ts";

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER = 16;

export class SnappyError extends Error {}

function isXerial(input: Uint8Array): boolean {
  return input.length >= XERIAL_HEADER && XERIAL_MAGIC.every((b, i) => input[i] === b);
}

/** Decompresses a raw snappy block; its declared length must not pass `limit` (checked before allocating). */
export function snappyBlockDecompress(input: Uint8Array, limit = Number.MAX_SAFE_INTEGER): Uint8Array {
  // Preamble: the uncompressed length as a little-endian varint.
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new SnappyError("snappy: bad length preamble");
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > limit) throw new InflateLimitError(limit);
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
      offset = ((tag >>> 5) << 8) | (input[pos++] ?? 0);
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

/** Decompresses Kafka snappy data: xerial-framed (Java producers) or one raw block; at most `limit` bytes of output. */
export function snappyDecompress(input: Uint8Array, limit = Number.MAX_SAFE_INTEGER): Uint8Array {
  if (!isXerial(input)) return snappyBlockDecompress(input, limit);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const blocks: Uint8Array[] = [];
  let total = 0;
  for (let pos = XERIAL_HEADER; pos < input.length; ) {
    if (pos + 4 > input.length) throw new SnappyError("snappy: truncated xerial block header");
    const size = view.getUint32(pos);
    pos += 4;
    if (pos + size > input.length) throw new SnappyError("snappy: truncated xerial block");
    const block = snappyBlockDecompress(input.subarray(pos, pos + size), limit - total);
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

const XERIAL_BLOCK = 32 * 1024;
const HASH_BITS = 14;

function literal(dst: Uint8Array, o: number, src: Uint8Array, from: number, to: number): number {
  const n = to - from - 1;
  if (n < 60) dst[o++] = n << 2;
  else if (n < 0x100) {
    dst[o++] = 60 << 2;
    dst[o++] = n;
  } else {
    dst[o++] = 61 << 2;
    dst[o++] = n & 0xff;
    dst[o++] = n >>> 8;
  }
  dst.set(src.subarray(from, to), o);
  return o + (to - from);
}

function copy(dst: Uint8Array, o: number, offset: number, len: number): number {
  // 2-byte-offset copies carry 1..64 bytes; keep the last one at 4 or more.
  while (len > 0) {
    const n = len > 64 ? (len - 64 < 4 ? 60 : 64) : len;
    dst[o++] = 2 | ((n - 1) << 2);
    dst[o++] = offset & 0xff;
    dst[o++] = offset >>> 8;
    len -= n;
  }
  return o;
}

/** Compresses `src` (at most 64 KiB) as one raw snappy block (greedy, 4-byte hash matches). */
export function snappyBlockCompress(src: Uint8Array): Uint8Array {
  const dst = new Uint8Array(32 + src.length + Math.ceil(src.length / 6));
  let o = 0;
  for (let n = src.length; ; ) {
    dst[o++] = n >= 0x80 ? (n & 0x7f) | 0x80 : n;
    n >>>= 7;
    if (n === 0) break;
  }
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const read32 = (i: number) => src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24);
  let anchor = 0;
  let ip = 0;
  let misses = 0;
  const limit = src.length - 4;
  while (ip <= limit) {
    const seq = read32(ip);
    const h = Math.imul(seq, 0x1e35a7bd) >>> (32 - HASH_BITS);
    const ref = table[h]!;
    table[h] = ip;
    if (ref < 0 || read32(ref) !== seq) {
      ip += 1 + (misses++ >> 5);
      continue;
    }
    misses = 0;
    let len = 4;
    while (ip + len < src.length && src[ip + len] === src[ref + len]) len++;
    if (ip > anchor) o = literal(dst, o, src, anchor, ip);
    o = copy(dst, o, ip - ref, len);
    ip += len;
    anchor = ip;
  }
  if (anchor < src.length) o = literal(dst, o, src, anchor, src.length);
  return dst.subarray(0, o);
}

/** Compresses as Kafka's Java producer does: the xerial framing over 32 KiB raw snappy blocks. */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const blocks: Uint8Array[] = [];
  let total = XERIAL_HEADER;
  for (let start = 0; start < input.length || blocks.length === 0; start += XERIAL_BLOCK) {
    const block = snappyBlockCompress(input.subarray(start, Math.min(input.length, start + XERIAL_BLOCK)));
    blocks.push(block);
    total += 4 + block.length;
    if (input.length === 0) break;
  }
  const out = new Uint8Array(total);
  out.set(XERIAL_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, 1); // version
  view.setUint32(12, 1); // minimum compatible version
  let o = XERIAL_HEADER;
  for (const b of blocks) {
    view.setUint32(o, b.length);
    out.set(b, o + 4);
    o += 4 + b.length;
  }
  return out;
}
