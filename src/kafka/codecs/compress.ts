/**
 * Record-batch compression for ferry's producer (`--compression`): gzip and zstd from the
 * runtime's zlib, snappy (xerial framing, as Kafka's Java producer writes it) and lz4 (LZ4
 * frames) in plain TypeScript. The ids are the RecordBatch attribute bits.
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import { xxHash32 } from "../../platform/hash.ts";
import { lz4Compress } from "./lz4.ts";
import { snappyCompress } from "./snappy.ts";

export const COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export interface Compressor {
  /** The codec's id in a RecordBatch's attributes. */
  id: number;
  compress(records: Uint8Array): Uint8Array;
}

const COMPRESSORS: Record<Exclude<Compression, "none">, Compressor> = {
  gzip: { id: 1, compress: (b) => gzipSync(b) },
  snappy: { id: 2, compress: snappyCompress },
  lz4: { id: 3, compress: (b) => lz4Compress(b, xxHash32) },
  zstd: { id: 4, compress: (b) => zstdCompressSync(b) },
};

export function compressorOf(c: Compression): Compressor | undefined {
  return c === "none" ? undefined : COMPRESSORS[c];
}
