/**
 * Registers the record-batch codecs kafkajs lacks, so ferry reads batches compressed by any
 * producer: snappy and lz4 (plain TypeScript decoders), zstd (the runtime's zlib). kafkajs ships
 * gzip. ferry itself produces uncompressed or gzip batches; the others are read-only here.
 */
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import { lz4Decompress } from "./lz4.ts";
import { snappyDecompress } from "./snappy.ts";

interface Encoder {
  buffer: Buffer;
}

const readOnly = (name: string, decompress: (b: Uint8Array) => Uint8Array) => () => ({
  async compress(): Promise<Buffer> {
    throw new Error(`ferry reads ${name} batches but does not write them; use gzip or zstd`);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    const out = decompress(buffer);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  },
});

let registered = false;

export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = readOnly("snappy", snappyDecompress);
  CompressionCodecs[CompressionTypes.LZ4] = readOnly("lz4", lz4Decompress);
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    async compress(encoder: Encoder): Promise<Buffer> {
      return zstdCompressSync(encoder.buffer);
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      return zstdDecompressSync(buffer);
    },
  });
}
