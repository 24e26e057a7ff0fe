/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2. The runtime ships only the IEEE
 * polynomial (zlib's crc32), so this is table-driven, eight bytes per step (slicing-by-8).
 */
const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLES[0]![n] = c >>> 0;
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 8; t++) TABLES[t]![n] = (TABLES[0]![TABLES[t - 1]![n]! & 0xff]! ^ (TABLES[t - 1]![n]! >>> 8)) >>> 0;
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/** CRC-32C of `buf[start, end)`. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[buf[i + 4]!]! ^
      T2[buf[i + 5]!]! ^
      T1[buf[i + 6]!]! ^
      T0[buf[i + 7]!]!;
  }
  for (; i < end; i++) crc = T0[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
