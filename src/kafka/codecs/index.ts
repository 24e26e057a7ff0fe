/**
 * Registers the record-batch codecs kafkajs lacks (it ships gzip only), so kafkajs reads batches
 * compressed by any producer: snappy and lz4 (plain TypeScript), zstd (the runtime's zlib). ferry's
 * own producer compresses through compress.ts with the same codecs.
 */
import { zstdDecompressSync } from "node:zlib";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import { compressorOf, type Compression } from "./compress.ts";
import { lz4Decompress } from "./lz4.ts";
import { snappyDecompress } from "./snappy.ts";

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const codec = (name: Exclude<Compression, "none" | "gzip">, decompress: (b: Uint8Array) => Uint8Array) => () => ({
  async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
    return asBuffer(compressorOf(name)!.compress(encoder.buffer));
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return asBuffer(decompress(buffer));
  },
});

let registered = false;

export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = codec("snappy", snappyDecompress);
  CompressionCodecs[CompressionTypes.LZ4] = codec("lz4", lz4Decompress);
  CompressionCodecs[CompressionTypes.ZSTD] = codec("zstd", zstdDecompressSync);
}
