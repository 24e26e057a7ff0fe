/**
 * Kafka RecordBatch v2 (magic 2) encoding: one buffer per batch, sizes computed up front, varints
 * on plain numbers, CRC-32C over attributes..end. Written for the idempotent producer: every
 * batch carries its producer id, epoch and base sequence.
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
 *   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
 *   producerId int64 | producerEpoch int16 | baseSequence int32 | count int32 | records
 *   record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *           key varint-bytes | value varint-bytes | headers varint count, then key/value pairs
 */
import type { Compressor } from "../codecs/compress.ts";
import { crc32c } from "./crc32c.ts";

type HeaderValue = string | Uint8Array | null;
/**
 * Record headers: an object (a name with several values, which Kafka allows, takes an array), or
 * the list of (name, value) pairs in their order, names as text or raw bytes (what a dead letter
 * copies from the record it carries, repeats, order and any name such as `__proto__` kept). A
 * value may be null.
 */
export type Headers = Readonly<Record<string, HeaderValue | readonly HeaderValue[]>> | HeaderList;
export type HeaderList = readonly (readonly [name: string | Uint8Array, value: HeaderValue])[];

export interface ProducerRecord {
  key: string | Uint8Array | null;
  value: string | Uint8Array | null;
  headers?: Headers;
}

/** A record with its key's and value's UTF-8 sizes (-1: null), measured once when it is queued. */
export interface SizedRecord extends ProducerRecord {
  keyBytes: number;
  valueBytes: number;
  /** Its encoded size within a batch (upper bound: offset and timestamp deltas counted at 5 bytes). */
  size: number;
}

export interface BatchHeader {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  timestampMs: number;
}

/** RecordBatch v2: the header's size, and where its fields sit (also read by src/kafka/fetch-response.ts). */
export const BATCH_OVERHEAD = 61;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;

/** UTF-8 size of a key or value; -1 for null. */
export const byteLength = (v: string | Uint8Array | null): number =>
  v === null ? -1 : typeof v === "string" ? Buffer.byteLength(v, "utf8") : v.length;

export function varintSize(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

const valuesOf = (v: HeaderValue | readonly HeaderValue[]): readonly HeaderValue[] => (v === null || typeof v === "string" || v instanceof Uint8Array ? [v] : v);

/** The headers as pairs in their order (an object's own names, each value of a repeated one in turn). */
export function headerList(headers: Headers | undefined): HeaderList {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers as HeaderList;
  const out: [string, HeaderValue][] = [];
  for (const k of Object.keys(headers)) for (const hv of valuesOf((headers as Record<string, HeaderValue | readonly HeaderValue[]>)[k]!)) out.push([k, hv]);
  return out;
}

function headersSize(headers: Headers | undefined): number {
  if (!headers) return 1;
  let size = 0;
  const pairs = headerList(headers);
  for (const [k, hv] of pairs) {
    const kb = byteLength(k);
    const vb = byteLength(hv);
    size += varintSize(kb) + kb + varintSize(vb) + Math.max(vb, 0);
  }
  return varintSize(pairs.length) + size;
}

/** A record's encoded size within a batch (an upper bound: offset and timestamp deltas counted at 5 bytes). */
export function recordSize(keyBytes: number, valueBytes: number, headers: Headers | undefined): number {
  const body = 1 + 1 + 5 + varintSize(keyBytes) + Math.max(keyBytes, 0) + varintSize(valueBytes) + Math.max(valueBytes, 0) + headersSize(headers);
  return varintSize(body) + body;
}

export function sizeRecord(r: ProducerRecord): SizedRecord {
  const keyBytes = byteLength(r.key);
  const valueBytes = byteLength(r.value);
  return { key: r.key, value: r.value, headers: r.headers, keyBytes, valueBytes, size: recordSize(keyBytes, valueBytes, r.headers) };
}

class Writer {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  varint(value: number): void {
    let v = ((value << 1) ^ (value >> 31)) >>> 0;
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.offset++] = v;
  }
  bytes(v: string | Uint8Array | null, size: number): void {
    this.varint(size);
    if (v === null) return;
    if (typeof v === "string") this.offset += this.buf.write(v, this.offset, size, "utf8");
    else {
      this.buf.set(v, this.offset);
      this.offset += size;
    }
  }
}

/**
 * Encodes `records` (all stamped with `header.timestampMs`) as one RecordBatch v2; with a
 * compressor, the records section (after the count) is compressed and the codec set in the attributes.
 */
export function encodeRecordBatch(records: readonly SizedRecord[], header: BatchHeader, compressor?: Compressor): Buffer {
  let total = BATCH_OVERHEAD;
  const bodies = new Int32Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const body =
      1 + 1 + varintSize(i) + varintSize(r.keyBytes) + Math.max(r.keyBytes, 0) + varintSize(r.valueBytes) + Math.max(r.valueBytes, 0) + headersSize(r.headers);
    bodies[i] = body;
    total += varintSize(body) + body;
  }
  const buf = Buffer.allocUnsafe(total);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(total - 12, 8);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(0, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(records.length - 1, 23);
  buf.writeBigInt64BE(BigInt(header.timestampMs), 27);
  buf.writeBigInt64BE(BigInt(header.timestampMs), 35);
  buf.writeBigInt64BE(header.producerId, 43);
  buf.writeInt16BE(header.producerEpoch, 51);
  buf.writeInt32BE(header.baseSequence, 53);
  buf.writeInt32BE(records.length, 57);
  const w = new Writer(buf);
  w.offset = BATCH_OVERHEAD;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    w.varint(bodies[i]!);
    buf[w.offset++] = 0; // attributes
    buf[w.offset++] = 0; // timestampDelta (varlong 0)
    w.varint(i);
    w.bytes(r.key, r.keyBytes);
    w.bytes(r.value, r.valueBytes);
    if (!r.headers) {
      buf[w.offset++] = 0;
      continue;
    }
    const pairs = headerList(r.headers);
    w.varint(pairs.length);
    for (const [k, hv] of pairs) {
      w.bytes(k, byteLength(k));
      w.bytes(hv, byteLength(hv));
    }
  }
  if (w.offset !== total) throw new Error(`record batch size mismatch: wrote ${w.offset} of ${total} bytes`);
  if (!compressor) {
    buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET, total), CRC_OFFSET);
    return buf;
  }
  const packed = compressor.compress(buf.subarray(BATCH_OVERHEAD));
  const out = Buffer.allocUnsafe(BATCH_OVERHEAD + packed.length);
  buf.copy(out, 0, 0, BATCH_OVERHEAD);
  out.set(packed, BATCH_OVERHEAD);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(compressor.id, ATTRIBUTES_OFFSET);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES_OFFSET, out.length), CRC_OFFSET);
  return out;
}
