/**
 * LZ4 frame decompression in plain TypeScript, for Kafka record batches with compression type 3
 * (Kafka writes the standard LZ4 frame format). Blocks may be independent or linked, with or
 * without block/content checksums (checksums are skipped: the record batch has its own CRC).
 * https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
 */

import { InflateLimitError } from "./inflate-limit.ts";

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export class Lz4Error extends Error {}

/** A byte buffer that grows up to a limit; LZ4 matches may reach back into earlier blocks. */
class Output {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  constructor(readonly limit: number) {}
  reserve(n: number): void {
    if (this.length + n > this.limit) throw new InflateLimitError(this.limit);
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/** Decodes one LZ4 block (`input[start, end)`) onto the end of `out`. */
function decodeBlock(input: Uint8Array, start: number, end: number, out: Output): void {
  let pos = start;
  while (pos < end) {
    const token = input[pos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (pos >= end) throw new Lz4Error("lz4: truncated literal length");
        b = input[pos++]!;
        literals += b;
      } while (b === 255);
    }
    if (pos + literals > end) throw new Lz4Error("lz4: literals out of bounds");
    out.reserve(literals);
    out.bytes.set(input.subarray(pos, pos + literals), out.length);
    out.length += literals;
    pos += literals;
    if (pos >= end) break; // the last sequence has literals only
    if (pos + 2 > end) throw new Lz4Error("lz4: truncated match offset");
    const offset = input[pos]! | (input[pos + 1]! << 8);
    pos += 2;
    let match = token & 15;
    if (match === 15) {
      let b: number;
      do {
        if (pos >= end) throw new Lz4Error("lz4: truncated match length");
        b = input[pos++]!;
        match += b;
      } while (b === 255);
    }
    match += 4;
    if (offset === 0 || offset > out.length) throw new Lz4Error("lz4: match offset out of bounds");
    out.reserve(match);
    const bytes = out.bytes;
    let o = out.length;
    const from = o - offset;
    if (offset >= match) {
      bytes.copyWithin(o, from, from + match);
      o += match;
    } else {
      for (let i = 0; i < match; i++, o++) bytes[o] = bytes[from + i]!;
    }
    out.length = o;
  }
}

/** Decompresses one or more concatenated LZ4 frames (skippable frames are skipped); at most `limit` bytes of output. */
export function lz4Decompress(input: Uint8Array, limit = Number.MAX_SAFE_INTEGER): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new Output(limit);
  let pos = 0;
  while (pos < input.length) {
    if (pos + 4 > input.length) throw new Lz4Error("lz4: truncated frame magic");
    const magic = view.getUint32(pos, true);
    pos += 4;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (pos + 4 > input.length) throw new Lz4Error("lz4: truncated skippable frame");
      pos += 4 + view.getUint32(pos, true);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Lz4Error(`lz4: not an LZ4 frame (magic 0x${magic.toString(16)})`);
    if (pos + 3 > input.length) throw new Lz4Error("lz4: truncated frame descriptor");
    const flg = input[pos]!;
    if (flg >>> 6 !== 1) throw new Lz4Error(`lz4: unsupported frame version ${flg >>> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    if (dictId) throw new Lz4Error("lz4: frames with a dictionary are not supported");
    pos += 2 + (contentSize ? 8 : 0) + 1; // FLG, BD, content size, header checksum
    for (;;) {
      if (pos + 4 > input.length) throw new Lz4Error("lz4: truncated block size");
      const word = view.getUint32(pos, true);
      pos += 4;
      if (word === 0) break; // end mark
      const size = word & 0x7fffffff;
      if (pos + size > input.length) throw new Lz4Error("lz4: truncated block");
      if (word & 0x80000000) {
        out.reserve(size);
        out.bytes.set(input.subarray(pos, pos + size), out.length);
        out.length += size;
      } else {
        decodeBlock(input, pos, pos + size, out);
      }
      pos += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) pos += 4;
  }
  return out.bytes.subarray(0, out.length);
}

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_OFFSET = 65535;
const BLOCK_SIZE = 64 * 1024;
const HASH_BITS = 14;

const read32 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);

function writeLength(dst: Uint8Array, o: number, n: number): number {
  for (; n >= 255; n -= 255) dst[o++] = 255;
  dst[o++] = n;
  return o;
}

/**
 * Compresses `src[start, end)` as one LZ4 block into `dst` at `o` (greedy, a hash table of the
 * last position of each 4-byte sequence); returns the end offset in `dst`. `dst` must hold the
 * worst case: n + n/255 + 16 bytes.
 */
export function lz4CompressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, o: number, table: Int32Array): number {
  table.fill(-1);
  let anchor = start;
  const matchLimit = end - LAST_LITERALS;
  const ipLimit = end - MF_LIMIT;
  let ip = start;
  let misses = 0;
  while (ip < ipLimit) {
    const seq = read32(src, ip);
    const h = Math.imul(seq, 2654435761) >>> (32 - HASH_BITS);
    const ref = table[h]!;
    table[h] = ip;
    if (ref < 0 || ip - ref > MAX_OFFSET || read32(src, ref) !== seq) {
      ip += 1 + (misses++ >> 6); // skip faster through incompressible data
      continue;
    }
    misses = 0;
    let len = MIN_MATCH;
    while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
    const literals = ip - anchor;
    const token = o++;
    dst[token] = (Math.min(literals, 15) << 4) | Math.min(len - MIN_MATCH, 15);
    if (literals >= 15) o = writeLength(dst, o, literals - 15);
    dst.set(src.subarray(anchor, ip), o);
    o += literals;
    const offset = ip - ref;
    dst[o++] = offset & 0xff;
    dst[o++] = offset >>> 8;
    if (len - MIN_MATCH >= 15) o = writeLength(dst, o, len - MIN_MATCH - 15);
    ip += len;
    anchor = ip;
  }
  const literals = end - anchor;
  dst[o++] = Math.min(literals, 15) << 4;
  if (literals >= 15) o = writeLength(dst, o, literals - 15);
  dst.set(src.subarray(anchor, end), o);
  return o + literals;
}

/**
 * An LZ4 frame as Kafka's producers write it: independent 64 KiB blocks, no checksums but the
 * header's (xxHash32 of the descriptor, given by the caller), end mark. A block that does not
 * shrink is stored raw.
 */
export function lz4Compress(input: Uint8Array, xxHash32: (data: Uint8Array) => number): Uint8Array {
  const blocks = Math.max(1, Math.ceil(input.length / BLOCK_SIZE));
  const out = new Uint8Array(7 + blocks * (4 + BLOCK_SIZE + BLOCK_SIZE / 255 + 16) + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  out[4] = 0x60; // version 01, independent blocks, no block checksum, no content size or checksum
  out[5] = 0x40; // block maximum size 64 KiB
  out[6] = (xxHash32(out.subarray(4, 6)) >>> 8) & 0xff;
  let o = 7;
  const table = new Int32Array(1 << HASH_BITS);
  for (let start = 0; start < input.length; start += BLOCK_SIZE) {
    const end = Math.min(input.length, start + BLOCK_SIZE);
    const sizeAt = o;
    const done = lz4CompressBlock(input, start, end, out, o + 4, table);
    const size = done - (o + 4);
    if (size < end - start) {
      view.setUint32(sizeAt, size, true);
      o = done;
    } else {
      view.setUint32(sizeAt, (end - start) | 0x80000000, true);
      out.set(input.subarray(start, end), o + 4);
      o += 4 + (end - start);
    }
  }
  view.setUint32(o, 0, true); // end mark
  return out.subarray(0, o + 4);
}
