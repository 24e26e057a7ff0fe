/**
 * Registers the record-batch codecs kafkajs lacks (it ships gzip only), so kafkajs reads batches
 * compressed by any producer: snappy and lz4 (plain TypeScript), zstd (the runtime's zlib). ferry's
 * own producer compresses through compress.ts with the same codecs.
 */
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import { compressorOf, type Compression } from "./compress.ts";
import { decompress } from "./decompress.ts";

/** kafkajs's consumer no longer inflates (src/kafka/fetch-response.ts does, bounded); kept bounded here too. */
const KAFKAJS_INFLATE_LIMIT = 64 << 20;

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const codec = (name: Exclude<Compression, "none" | "gzip">) => () => ({
  async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
    return asBuffer(compressorOf(name)!.compress(encoder.buffer));
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return decompress(compressorOf(name)!.id, buffer, KAFKAJS_INFLATE_LIMIT);
  },
});

let registered = false;

export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = codec("snappy");
  CompressionCodecs[CompressionTypes.LZ4] = codec("lz4");
  CompressionCodecs[CompressionTypes.ZSTD] = codec("zstd");
}
