/**
 * The consumer's RecordBatch decoder against hostile batches (test/helpers/hostile/record-batches.ts):
 * every batch is either decoded exactly (what was encoded: keys, values, header pairs in order, null
 * values and prototype names included, offsets) or refused with a reason; never a throw, a hang, or
 * memory the bytes do not justify. Compression bombs in every codec stop at the limit.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type BatchOutcome, decodeBatchAt, headerPairsOf, type InflateBudget } from "../../../src/kafka/record-batch-decoder.ts";
import { ATTRIBUTES_OFFSET, BATCH_OVERHEAD } from "../../../src/kafka/producer/record-batch.ts";
import { arbCompression, arbDamage, arbRecord, batchFuzzParams, bombBatch, damage, encodeBatch, type PlainRecord, resign } from "../../helpers/hostile/record-batches.ts";

const same = (got: unknown, want: unknown) => expect(got).toEqual(want);
const budget = (maxBytes = 8 << 20): InflateBudget => ({ maxBytes, left: maxBytes });

function expectExact(o: BatchOutcome, records: readonly PlainRecord[], base: bigint): void {
  if (o.kind !== "records") throw new Error(`expected records, got ${JSON.stringify(o, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
  expect(o.records.length).toBe(records.length);
  o.records.forEach((got, i) => {
    const want = records[i]!;
    expect(got.offset).toBe(String(base + BigInt(i)));
    same(got.key, want.key);
    same(got.value, want.value);
    same(headerPairsOf(got.headers), want.headers);
    // The object form: own properties only, whatever the names.
    expect(Object.getPrototypeOf(got.headers)).toBe(null);
    for (const [name, v] of want.headers) {
      const k = name.toString("utf8");
      const seen = got.headers[k];
      const values = want.headers.filter(([n]) => n.toString("utf8") === k).map(([, x]) => x);
      expect(Object.hasOwn(got.headers, k)).toBe(true);
      same(values.length === 1 ? seen : (seen as unknown[]).length, values.length === 1 ? v : values.length);
    }
  });
}

describe("RecordBatch decoding", () => {
  test("every batch of any records, in every codec, decodes to exactly what was encoded", () => {
    fc.assert(
      fc.property(fc.array(arbRecord, { minLength: 1, maxLength: 20 }), arbCompression, fc.bigInt({ min: 0n, max: 2n ** 62n }), (records, compression, base) => {
        expectExact(decodeBatchAt(encodeBatch(records, compression, base), 0, true, budget()), records, base);
      }),
      batchFuzzParams(300),
    );
  });

  test("a damaged batch is decoded exactly when the damage missed what the CRC covers, else refused with a reason; never a throw", () => {
    fc.assert(
      fc.property(fc.array(arbRecord, { minLength: 1, maxLength: 8 }), arbCompression, arbDamage, fc.boolean(), (records, compression, d, first) => {
        const clean = encodeBatch(records, compression, 1000n);
        const hurt = damage(clean, d);
        const o = decodeBatchAt(hurt, 0, first, budget(1 << 20));
        const covered = hurt.length !== clean.length || !hurt.subarray(ATTRIBUTES_OFFSET).equals(clean.subarray(ATTRIBUTES_OFFSET)) || hurt.readInt32BE(8) !== clean.readInt32BE(8) || hurt[16] !== clean[16];
        switch (o.kind) {
          case "records":
            if (!covered) return; // e.g. the leader epoch or the base offset: not the CRC's business
            // Rewritten under a correct CRC: whatever decodes must be self-consistent.
            expect("resign" in d && d.resign).toBe(true);
            for (const r of o.records) expect(BigInt(r.offset)).toBeGreaterThanOrEqual(1000n);
            return;
          case "refused":
            expect(o.reason.length).toBeGreaterThan(0);
            expect(o.bytes).toBe(12 + hurt.readInt32BE(8));
            return;
          case "partial":
            // The first batch of a response is whole, or damaged (unless not even its length arrived).
            expect(!first || hurt.length < 12).toBe(true);
            return;
          case "deferred":
            throw new Error("deferred with a full budget");
        }
      }),
      batchFuzzParams(3000),
    );
  });

  test("damage that the CRC covers is refused as retriable (fetched again), not decoded", () => {
    const clean = encodeBatch([{ key: Buffer.from("k"), value: Buffer.from('{"order_id":"o-1"}'), headers: [] }], "none", 5n);
    for (let at = ATTRIBUTES_OFFSET; at < clean.length; at++) {
      const o = decodeBatchAt(damage(clean, { kind: "flip", at, xor: 0x10 }), 0, true, budget());
      expect(o).toMatchObject({ kind: "refused", retriable: true, baseOffset: 5n });
      expect((o as { reason: string }).reason).toContain("CRC-32C mismatch");
    }
  });

  test("lengths: negative, below a header, beyond the response (first batch: damage; later: a tail)", () => {
    const clean = encodeBatch([{ key: null, value: Buffer.from("v"), headers: [] }], "none", 9n);
    for (const value of [-1, -(2 ** 31), 0, 48]) expect(decodeBatchAt(damage(clean, { kind: "length", value }), 0, true, budget())).toMatchObject({ kind: "refused", retriable: true, next: undefined });
    expect(decodeBatchAt(damage(clean, { kind: "length", value: 2 ** 31 - 1 }), 0, true, budget())).toMatchObject({ kind: "refused", retriable: true });
    expect(decodeBatchAt(damage(clean, { kind: "length", value: 2 ** 31 - 1 }), 0, false, budget())).toEqual({ kind: "partial" });
    expect(decodeBatchAt(clean.subarray(0, 11), 0, true, budget())).toEqual({ kind: "partial" });
  });

  test("counts the bytes cannot hold are refused before anything is allocated", () => {
    for (const compression of ["none", "gzip", "zstd"] as const) {
      const clean = encodeBatch([{ key: null, value: Buffer.from("v"), headers: [] }], compression);
      for (const value of [2 ** 31 - 1, 1 << 24, 2, -1]) {
        const o = decodeBatchAt(damage(clean, { kind: "count", value, resign: true }), 0, true, budget());
        expect(o.kind).toBe("refused");
        expect((o as { retriable: boolean }).retriable).toBe(false);
      }
    }
  });

  for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
    test(`a ${codec} bomb stops at the limit: refused, not inflated`, () => {
      const bomb = bombBatch(codec, 16 << 20);
      expect(bomb.length).toBeLessThan(1 << 20);
      const rss = process.memoryUsage.rss();
      const t0 = performance.now();
      const o = decodeBatchAt(bomb, 0, true, budget(2 << 20));
      expect(o).toMatchObject({ kind: "refused", retriable: false });
      expect((o as { reason: string }).reason).toContain("inflates beyond 2097152 bytes");
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(process.memoryUsage.rss() - rss).toBeLessThan(64 << 20);
    });
  }

  test("a snappy block claiming 4 GiB is refused from its preamble", () => {
    const o = decodeBatchAt(bombBatch("snappy", 2 ** 32), 0, true, budget(64 << 20));
    expect(o).toMatchObject({ kind: "refused", retriable: false });
  });

  test("within the limit but beyond what is left of the response's budget: deferred to a later fetch", () => {
    const batch = encodeBatch([{ key: null, value: Buffer.alloc(300_000), headers: [] }], "zstd");
    expect(decodeBatchAt(batch, 0, false, { maxBytes: 1 << 20, left: 100_000 })).toEqual({ kind: "deferred" });
    const b = budget(1 << 20);
    expect(decodeBatchAt(batch, 0, false, b).kind).toBe("records");
    expect(b.left).toBeLessThan((1 << 20) - 300_000);
  });

  test("a null header name is refused (as Kafka's Java consumer does); unknown codecs too", () => {
    const batch = encodeBatch([{ key: null, value: null, headers: [[Buffer.from("ab"), null]] }], "none");
    // The header's name length (zigzag 2 → 4) sits after: size, attributes, ts delta, offset delta, key -1, value -1, count 1.
    const at = batch.indexOf(Buffer.from([0x04, 0x61, 0x62]), BATCH_OVERHEAD);
    batch.writeUInt8(0x01, at); // name length -1
    const o = decodeBatchAt(resign(batch), 0, true, budget());
    expect(o.kind).toBe("refused");
    const codec = encodeBatch([{ key: null, value: null, headers: [] }], "none");
    codec.writeInt16BE(6, ATTRIBUTES_OFFSET);
    expect(decodeBatchAt(resign(codec), 0, true, budget())).toMatchObject({ kind: "refused", reason: "unknown compression codec 6" });
  });
});
