/**
 * Micro-benchmark of the consumer's RecordBatch decoding (src/kafka/record-batch-decoder.ts): 1 MiB
 * record sets (what one fetch holds) of orders in batches of 500, uncompressed and zstd, decoded
 * with the CRC-32C check and without; records/s, medians of 7 runs. The sink reads ~200k records/s.
 *   node_modules/.bin/bun bench/fetch-decode.ts
 */
import { compressorOf, type Compression } from "../src/kafka/codecs/compress.ts";
import { encodeRecordBatch, sizeRecord } from "../src/kafka/producer/record-batch.ts";
import { decodeBatchAt } from "../src/kafka/record-batch-decoder.ts";

const order = (i: number) => JSON.stringify({ order_id: `o-${i}`, product: "Arabica coffee beans 1kg", quantity: 1 + (i % 9), price: 12.5, customer_id: `c-${i % 1000}` });

function recordSet(compression: Compression): { buf: Buffer; records: number } {
  const batches: Buffer[] = [];
  let size = 0;
  let n = 0;
  while (size < 1 << 20) {
    const records = Array.from({ length: 500 }, () => sizeRecord({ key: `o-${n}`, value: order(n++) }));
    const b = encodeRecordBatch(records, { producerId: 1n, producerEpoch: 0, baseSequence: 0, timestampMs: Date.now() }, compressorOf(compression));
    b.writeBigInt64BE(BigInt(n - 500), 0);
    batches.push(b);
    size += b.length;
  }
  return { buf: Buffer.concat(batches), records: n };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const compression of ["none", "zstd"] as const) {
  const { buf, records } = recordSet(compression);
  for (const checkCrc of [false, true, false, true]) {
    const rates: number[] = [];
    for (let run = 0; run < 7; run++) {
      const t0 = performance.now();
      let decoded = 0;
      for (let rep = 0; rep < 20; rep++) {
        for (let pos = 0; pos < buf.length; ) {
          const o = decodeBatchAt(buf, pos, pos === 0, { maxBytes: 64 << 20, left: 64 << 20 }, checkCrc);
          if (o.kind !== "records") throw new Error(o.kind);
          decoded += o.records.length;
          pos = o.next;
        }
      }
      rates.push(decoded / ((performance.now() - t0) / 1000));
    }
    console.log(`${compression.padEnd(5)} ${(buf.length / 2 ** 20).toFixed(2)} MiB, ${records} records: CRC ${checkCrc ? "on " : "off"} ${Math.round(median(rates)).toLocaleString("en")} records/s`);
  }
}
