/**
 * Hostile Kafka RecordBatches (v2) for the consumer's decoder: records with null or binary keys
 * and values, headers with null values, repeated names and names such as `__proto__` or
 * `constructor` (as raw bytes, valid UTF-8 or not), in every codec; damage to apply to an encoded
 * batch (bytes flipped, cut, lengths, counts and CRCs set to anything, records rewritten under a
 * correct CRC); and compression bombs in every codec.
 *
 * Seeded: FERRY_FUZZ_SEED (default: random, printed by fast-check on failure), FERRY_FUZZ_RUNS.
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import fc from "fast-check";
import { compressorOf, type Compression } from "../../../src/kafka/codecs/compress.ts";
import { crc32c } from "../../../src/kafka/producer/crc32c.ts";
import { ATTRIBUTES_OFFSET, BATCH_OVERHEAD, CRC_OFFSET, encodeRecordBatch, type HeaderList, sizeRecord } from "../../../src/kafka/producer/record-batch.ts";
import { lz4Compress } from "../../../src/kafka/codecs/lz4.ts";
import { xxHash32 } from "../../../src/platform/hash.ts";

export const BATCH_FUZZ_SEED = process.env.FERRY_FUZZ_SEED ? Number(process.env.FERRY_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
export const batchFuzzParams = (ci: number): fc.Parameters<unknown> => ({
  seed: BATCH_FUZZ_SEED,
  numRuns: process.env.FERRY_FUZZ_RUNS ? Number(process.env.FERRY_FUZZ_RUNS) : ci,
  endOnFailure: false,
});

export interface PlainRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: [Buffer, Buffer | null][];
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const headerName = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "a", "ferry.error", "", "é").map((s) => Buffer.from(s)),
  bytes(8), // not always UTF-8
);
export const arbRecord: fc.Arbitrary<PlainRecord> = fc.record({
  key: fc.option(bytes(24), { nil: null }),
  value: fc.option(fc.oneof(bytes(64), fc.string({ maxLength: 40 }).map((s) => Buffer.from(s))), { nil: null }),
  headers: fc.array(fc.tuple(headerName, fc.option(bytes(12), { nil: null })), { maxLength: 6 }),
});
export const arbCompression = fc.constantFrom<Compression>("none", "gzip", "snappy", "lz4", "zstd");

/** One batch of `records` at `baseOffset` (offset deltas 0…n-1), as the producer encodes it. */
export function encodeBatch(records: readonly PlainRecord[], compression: Compression, baseOffset = 0n): Buffer {
  const sized = records.map((r) => sizeRecord({ key: r.key, value: r.value, headers: r.headers as HeaderList }));
  const buf = encodeRecordBatch(sized, { producerId: 7n, producerEpoch: 0, baseSequence: 0, timestampMs: 1_767_225_600_000 }, compressorOf(compression));
  buf.writeBigInt64BE(baseOffset, 0); // not covered by the CRC
  return buf;
}

/** Recomputes a batch's CRC (after an edit that should pass it). */
export function resign(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
  return batch;
}

/** Damage done to an encoded batch: what a broken disk, network or producer could hand the consumer. */
export type Damage =
  | { kind: "flip"; at: number; xor: number }
  | { kind: "cut"; at: number }
  | { kind: "length"; value: number }
  | { kind: "count"; value: number; resign: boolean }
  | { kind: "crc"; value: number }
  | { kind: "bytes"; at: number; with: number[]; resign: boolean }
  | { kind: "magic"; value: number };

export const arbDamage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("length" as const), value: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-1, 0, 48, 49, 2 ** 31 - 1, -(2 ** 31))) }),
  fc.record({ kind: fc.constant("count" as const), value: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -2, max: 40 })), resign: fc.boolean() }),
  fc.record({ kind: fc.constant("crc" as const), value: fc.nat({ max: 2 ** 32 - 1 }) }),
  fc.record({ kind: fc.constant("bytes" as const), at: fc.nat(), with: fc.array(fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0x80, 0xff, 0x7f, 0x01, 0x00)), { minLength: 1, maxLength: 12 }), resign: fc.boolean() }),
  fc.record({ kind: fc.constant("magic" as const), value: fc.integer({ min: -128, max: 127 }) }),
);

/** A damaged copy of `batch` (records after the header are hit more often than the header). */
export function damage(batch: Buffer, d: Damage): Buffer {
  const b = Buffer.from(batch);
  switch (d.kind) {
    case "flip":
      b[d.at % b.length]! ^= d.xor;
      return b;
    case "cut":
      return b.subarray(0, d.at % b.length);
    case "length":
      b.writeInt32BE(d.value, 8);
      return b;
    case "count":
      b.writeInt32BE(d.value, 57);
      return d.resign ? resign(b) : b;
    case "crc":
      b.writeUInt32BE(d.value, CRC_OFFSET);
      return b;
    case "magic":
      b.writeInt8(d.value, 16);
      return b;
    case "bytes": {
      const span = b.length - BATCH_OVERHEAD;
      const at = span > 0 ? BATCH_OVERHEAD + (d.at % span) : d.at % b.length;
      for (let i = 0; i < d.with.length && at + i < b.length; i++) b[at + i] = d.with[i]!;
      return d.resign ? resign(b) : b;
    }
  }
}

/**
 * A batch whose records section inflates to about `inflated` bytes (one record, its value zeros),
 * compressed with `codec`; made without building the whole record in memory where the codec
 * allows (snappy's preamble can claim any length).
 */
export function bombBatch(codec: Exclude<Compression, "none">, inflated: number): Buffer {
  const header = encodeBatch([{ key: null, value: Buffer.alloc(0), headers: [] }], "none");
  let packed: Uint8Array;
  if (codec === "snappy") {
    // A raw snappy block whose preamble claims `inflated` bytes, then a literal and copies of it.
    const pre: number[] = [];
    for (let n = inflated; ; ) {
      pre.push(n >= 0x80 ? (n & 0x7f) | 0x80 : n);
      n = Math.floor(n / 128);
      if (n === 0) break;
    }
    const copies = Math.min(Math.ceil(inflated / 64), 1 << 16);
    const body = Buffer.alloc(2 + copies * 3);
    body[0] = 0 << 2; // a literal of 1 byte
    body[1] = 0;
    for (let i = 0; i < copies; i++) {
      body[2 + i * 3] = 2 | (63 << 2); // a copy of 64 bytes, 2-byte offset
      body[3 + i * 3] = 1;
      body[4 + i * 3] = 0;
    }
    packed = Buffer.concat([Buffer.from(pre), body]);
  } else {
    const zeros = Buffer.alloc(inflated);
    packed = codec === "gzip" ? gzipSync(zeros) : codec === "zstd" ? zstdCompressSync(zeros) : lz4Compress(zeros, xxHash32);
  }
  const out = Buffer.alloc(BATCH_OVERHEAD + packed.length);
  header.copy(out, 0, 0, BATCH_OVERHEAD);
  out.set(packed, BATCH_OVERHEAD);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(compressorOf(codec)!.id, ATTRIBUTES_OFFSET);
  return resign(out);
}
