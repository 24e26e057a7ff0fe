/**
 * The snappy and lz4 decoders against vectors made by the reference implementations (python-lz4
 * and cramjam's snappy, at the time this test was written); the real producers' batches are read
 * in test/integration/sink.test.ts (Kafka's Java producer with each compression.type).
 */
import { describe, expect, test } from "bun:test";
import { Lz4Error, lz4Compress, lz4Decompress } from "../../../src/kafka/codecs/lz4.ts";
import { SnappyError, snappyCompress, snappyDecompress } from "../../../src/kafka/codecs/snappy.ts";
import { xxHash32 } from "../../../src/platform/hash.ts";

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

describe("compressors (read back by the decoders; Kafka's Java consumer and librdkafka read them in test/integration/compression.test.ts)", () => {
  const rnd = (() => {
    let x = 12345;
    return () => ((x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  })();
  const orders = (n: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => `{"order_id":"o-${i}","product":"Arabica coffee beans 1kg","quantity":${i % 9},"price":${(i * 7) % 100}.5}`).join(""));
  const random = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const inputs: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["tiny", Buffer.from("abc")],
    ["13 bytes", Buffer.from("abcdefghijklm")],
    ["runs", Buffer.alloc(300_000, 7)],
    ["orders 1k", orders(1000)],
    ["orders 20k (several blocks)", orders(20_000)],
    ["random 200 KiB", random(200 * 1024)],
    ["mixed", Buffer.concat([orders(500), random(70_000), orders(500), Buffer.alloc(1000, 1)])],
  ];
  for (const [name, data] of inputs) {
    test(`lz4 frame round trip: ${name}`, () => {
      const packed = lz4Compress(data, xxHash32);
      expect(Buffer.from(lz4Decompress(packed)).equals(Buffer.from(data))).toBe(true);
    });
    test(`snappy (xerial) round trip: ${name}`, () => {
      const packed = snappyCompress(data);
      expect(Buffer.from(snappyDecompress(packed)).equals(Buffer.from(data))).toBe(true);
    });
  }
  test("they compress what repeats", () => {
    const data = orders(5000);
    expect(lz4Compress(data, xxHash32).length).toBeLessThan(data.length / 3);
    expect(snappyCompress(data).length).toBeLessThan(data.length / 3);
  });
  test("the LZ4 frame header checksum is xxHash32's second byte (what lz4 and Kafka check)", () => {
    const packed = lz4Compress(Buffer.from("x"), xxHash32);
    // FLG 0x60, BD 0x40: frames from the lz4 tools with this descriptor start 04 22 4D 18 60 40 82.
    expect([...packed.subarray(4, 7)]).toEqual([0x60, 0x40, 0x82]);
  });
});
