/**
 * Bounded decompression of a RecordBatch's records, by the codec id of its attributes (1 gzip,
 * 2 snappy, 3 lz4, 4 zstd). Every codec stops as soon as its output would pass `limit` (gzip and
 * zstd through zlib's maxOutputLength, snappy from its declared length before allocating, lz4 as
 * its output grows) and throws InflateLimitError: a small compression bomb never takes the memory
 * it claims. Malformed input throws the codec's own error.
 */
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { InflateLimitError } from "./inflate-limit.ts";
import { lz4Decompress } from "./lz4.ts";
import { snappyDecompress } from "./snappy.ts";

export { InflateLimitError };

export const CODEC_NAMES: Readonly<Record<number, string>> = { 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd" };

const zlibBounded = (inflate: typeof gunzipSync) => (input: Uint8Array, limit: number) => {
  try {
    return inflate(input, { maxOutputLength: Math.max(1, limit) });
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw new InflateLimitError(limit);
    throw e;
  }
};

const DECOMPRESSORS: Record<number, (input: Uint8Array, limit: number) => Uint8Array> = {
  1: zlibBounded(gunzipSync),
  2: snappyDecompress,
  3: lz4Decompress,
  4: zlibBounded(zstdDecompressSync as typeof gunzipSync),
};

/** The records of a compressed batch, at most `limit` bytes; a Buffer view of the output. */
export function decompress(codec: number, input: Uint8Array, limit: number): Buffer {
  const fn = DECOMPRESSORS[codec];
  if (!fn) throw new Error(`unknown compression codec ${codec}`);
  const out = fn(input, limit);
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
