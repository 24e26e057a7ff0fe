/**
 * The snappy and lz4 decoders against vectors made by the reference implementations (python-lz4
 * and cramjam's snappy, at the time this test was written); the real producers' batches are read
 * in test/integration/sink.test.ts (Kafka's Java producer with each compression.type).
 */
import { describe, expect, test } from "bun:test";
import { Lz4Error, lz4Decompress } from "../../../src/kafka/codecs/lz4.ts";
import { SnappyError, snappyDecompress } from "../../../src/kafka/codecs/snappy.ts";

const DATA = Buffer.concat([Buffer.from("order ".repeat(20)), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from("abcabcabcabcabcabcabcabc".repeat(10))]);
const RANGE = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex");
const hex = (s: string) => Buffer.from(s.replace("<range>", RANGE), "hex");

// Linked blocks, content size and content checksum.
const LZ4_LINKED = hex("04224d186c40680200000000000028180100006f6f726465722006005ffff4<range>6162630300d55062636162630000000095ce13ad");
// Independent blocks with block checksums, no content size.
const LZ4_CHECKSUMS = hex("04224d187040ad180100006f6f726465722006005ffff4<range>6162630300d55062636162639724adb100000000");
const SNAPPY_RAW = hex("e804146f7264657220fe0600c60600f40e01<range>616263616263616263616263616263fe0900fe0900fe0900820900");

describe("lz4 frames", () => {
  test("linked blocks with content size and checksum", () => expect(Buffer.from(lz4Decompress(LZ4_LINKED))).toEqual(DATA));
  test("block checksums", () => expect(Buffer.from(lz4Decompress(LZ4_CHECKSUMS))).toEqual(DATA));
  test("two frames in a row are one stream", () => expect(Buffer.from(lz4Decompress(Buffer.concat([LZ4_LINKED, LZ4_CHECKSUMS])))).toEqual(Buffer.concat([DATA, DATA])));
  test("an uncompressed block", () => {
    const frame = Buffer.concat([Buffer.from("04224d186040", "hex"), Buffer.from([0x82]), Buffer.from([3, 0, 0, 0x80]), Buffer.from("abc"), Buffer.alloc(4)]);
    expect(Buffer.from(lz4Decompress(frame)).toString()).toBe("abc");
  });
  test("garbage is an error, not a wrong answer", () => {
    expect(() => lz4Decompress(Buffer.from("not lz4 at all"))).toThrow(Lz4Error);
    expect(() => lz4Decompress(LZ4_LINKED.subarray(0, 40))).toThrow(Lz4Error);
  });
});

describe("snappy", () => {
  test("a raw block", () => expect(Buffer.from(snappyDecompress(SNAPPY_RAW))).toEqual(DATA));
  test("xerial framing (Kafka's Java producer): header, then length-prefixed blocks", () => {
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(SNAPPY_RAW.length);
    const framed = Buffer.concat([header, len, SNAPPY_RAW, len, SNAPPY_RAW]);
    expect(Buffer.from(snappyDecompress(framed))).toEqual(Buffer.concat([DATA, DATA]));
  });
  test("garbage is an error", () => {
    expect(() => snappyDecompress(SNAPPY_RAW.subarray(0, 30))).toThrow(SnappyError);
    expect(() => snappyDecompress(Buffer.from([0x05, 0x0a]))).toThrow(SnappyError);
  });
});
