/**
 * LZ4 frame decompression in plain TypeScript, for Kafka record batches with compression type 3
 * (Kafka writes the standard LZ4 frame format). Blocks may be independent or linked, with or
 * without block/content checksums (checksums are skipped: the record batch has its own CRC).
 * https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
 */

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export class Lz4Error extends Error {}

/** A byte buffer that grows; LZ4 matches may reach back into earlier blocks. */
class Output {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  reserve(n: number): void {
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

/** Decompresses one or more concatenated LZ4 frames (skippable frames are skipped). */
export function lz4Decompress(input: Uint8Array): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new Output();
  let pos = 0;
  while (pos < input.length) {
    if (pos + 4 > input.length) throw new Lz4Error("lz4: truncated frame magic");
    const magic = view.getUint32(pos, true);
    pos += 4;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      pos += 4 + view.getUint32(pos, true);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Lz4Error(`lz4: not an LZ4 frame (magic 0x${magic.toString(16)})`);
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
