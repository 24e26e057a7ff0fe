/**
 * Fetch v11 responses decoded with a fraction of kafkajs's work per record. kafkajs decodes each
 * record through several Decoder objects and 64-bit Long arithmetic (two BigInt additions and two
 * toString calls per record: about half of the sink's fetch time); here offsets and timestamps are
 * plain numbers while they fit in 2^53 (always, in practice) and keys and values stay views of the
 * response. The result has exactly kafkajs's shape (test/integration/fetch-response.test.ts compares
 * both on real responses), so kafkajs's consumer works on it unchanged. Anything unusual — a
 * compressed or control batch, a legacy message set, an offset beyond 2^53 — is left to kafkajs's
 * own decoders. Installed through the seam (src/kafka/kafkajs-internals.ts).
 */
// @ts-expect-error kafkajs ships no types for its internals
import Decoder from "kafkajs/src/protocol/decoder.js";
// @ts-expect-error kafkajs ships no types for its internals
import kafkajsDecodeMessages from "kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js";
// @ts-expect-error kafkajs ships no types for its internals
import RecordBatchDecoder from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import { ATTRIBUTES_OFFSET, BATCH_OVERHEAD } from "./producer/record-batch.ts";

/** What kafkajs's Decoder offers that is used here. */
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readString(): string;
  readBytes(n: number): Buffer;
  canReadBytes(n: number): boolean;
  readArray<T>(reader: (d: KafkaDecoder) => T): T[];
  readArrayAsync<T>(reader: (d: KafkaDecoder) => Promise<T>): Promise<T[]>;
}
const newDecoder = (buffer: Buffer): KafkaDecoder => new (Decoder as new (b: Buffer) => KafkaDecoder)(buffer);

const MAGIC_OFFSET = 16;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_MASK = 0x10;
const CONTROL_MASK = 0x20;
const LOG_APPEND_TIME = 1;
const CREATE_TIME = 0;

/** A drop-in for kafkajs's fetch v11 response `decode`. */
export async function decodeFetchV11(rawData: Buffer) {
  const decoder = newDecoder(rawData);
  const clientSideThrottleTime = decoder.readInt32();
  const errorCode = decoder.readInt16();
  const sessionId = decoder.readInt32();
  const responses = await decoder.readArrayAsync(async (d) => ({
    topicName: d.readString(),
    partitions: await d.readArrayAsync(decodePartition),
  }));
  // As kafkajs: the broker did not throttle this request; a client-side throttle time is reported apart.
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

async function decodePartition(d: KafkaDecoder) {
  return {
    partition: d.readInt32(),
    errorCode: d.readInt16(),
    highWatermark: d.readInt64().toString(),
    lastStableOffset: d.readInt64().toString(),
    lastStartOffset: d.readInt64().toString(),
    abortedTransactions: d.readArray((t) => ({ producerId: t.readInt64().toString(), firstOffset: t.readInt64().toString() })),
    preferredReadReplica: d.readInt32(),
    messages: await decodeMessages(d),
  };
}

async function decodeMessages(d: KafkaDecoder): Promise<unknown[]> {
  const start = d.offset;
  const size = d.readInt32();
  if (size <= 0 || !d.canReadBytes(size)) return [];
  const buf = d.readBytes(size);
  if (buf.length <= MAGIC_OFFSET || buf[MAGIC_OFFSET] !== 2) {
    // A legacy message set: kafkajs's own decoder, from the size on.
    return kafkajsDecodeMessages(newDecoder(d.buffer.subarray(start)));
  }
  const records: unknown[] = [];
  let pos = 0;
  while (pos + BATCH_OVERHEAD <= buf.length) {
    const length = buf.readInt32BE(pos + 8);
    const end = pos + 12 + length;
    if (end > buf.length) break; // the tail of a response can hold a partial batch
    const decoded = decodeRecordBatch(buf, pos, end);
    if (decoded) records.push(...decoded);
    else {
      const batch = await RecordBatchDecoder(newDecoder(buf.subarray(pos, end)));
      records.push(...(batch as { records: unknown[] }).records);
    }
    pos = end;
  }
  return records;
}

/** The records of an uncompressed, non-control batch; undefined when kafkajs's decoder must do it. */
function decodeRecordBatch(buf: Buffer, pos: number, end: number): unknown[] | undefined {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if ((attributes & (COMPRESSION_MASK | CONTROL_MASK)) !== 0) return undefined;
  const firstOffset = safe(buf.readBigInt64BE(pos));
  const firstTimestamp = safe(buf.readBigInt64BE(pos + 27));
  const maxTimestamp = buf.readBigInt64BE(pos + 35).toString();
  if (firstOffset === undefined || firstTimestamp === undefined) return undefined;
  const timestampType = (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? LOG_APPEND_TIME : CREATE_TIME;
  const batchContext = {
    firstOffset: String(firstOffset),
    firstTimestamp: String(firstTimestamp),
    partitionLeaderEpoch: buf.readInt32BE(pos + 12),
    inTransaction: (attributes & TRANSACTIONAL_MASK) !== 0,
    isControlBatch: false,
    lastOffsetDelta: buf.readInt32BE(pos + 23),
    producerId: buf.readBigInt64BE(pos + 43).toString(),
    producerEpoch: buf.readInt16BE(pos + 51),
    firstSequence: buf.readInt32BE(pos + 53),
    maxTimestamp,
    timestampType,
    magicByte: 2,
  };
  const count = buf.readInt32BE(pos + 57);
  const records = new Array<unknown>(count);
  const r = { pos: pos + BATCH_OVERHEAD };
  for (let i = 0; i < count; i++) {
    const size = varint(buf, r);
    const next = r.pos + size;
    if (next > end) return undefined;
    const recordAttributes = buf.readInt8(r.pos);
    r.pos++;
    const timestampDelta = varlong(buf, r);
    const offsetDelta = varint(buf, r);
    const key = bytes(buf, r);
    const value = bytes(buf, r);
    const headerCount = varint(buf, r);
    const headers: Record<string, Buffer | null | (Buffer | null)[]> = headerCount === 0 ? NO_HEADERS : {};
    for (let h = 0; h < headerCount; h++) {
      const name = bytes(buf, r);
      const headerValue = bytes(buf, r);
      const k = name === null ? "null" : name.toString("utf8");
      const seen = headers[k];
      headers[k] = seen === undefined ? headerValue : Array.isArray(seen) ? [...seen, headerValue] : [seen, headerValue];
    }
    if (r.pos !== next || timestampDelta === undefined) return undefined;
    records[i] = {
      magicByte: 2,
      attributes: recordAttributes,
      timestamp: timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : String(firstTimestamp + timestampDelta),
      offset: String(firstOffset + offsetDelta),
      key,
      value,
      headers,
      isControlRecord: false,
      batchContext,
    };
  }
  return records;
}

/** The headers of every record without any (one frozen object: no allocation per record). */
const NO_HEADERS = Object.freeze({}) as Record<string, never>;

const safe = (n: bigint): number | undefined => (n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined);

/** A zigzag varint (32-bit). */
function varint(buf: Buffer, r: { pos: number }): number {
  let shift = 0;
  let result = 0;
  let byte: number;
  do {
    byte = buf[r.pos++]!;
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return (result >>> 1) ^ -(result & 1);
}

/** A zigzag varlong, as a number while it fits in 2^53 (else undefined). */
function varlong(buf: Buffer, r: { pos: number }): number | undefined {
  let result = 0;
  let scale = 1;
  let byte: number;
  do {
    byte = buf[r.pos++]!;
    result += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  if (result > Number.MAX_SAFE_INTEGER) return undefined;
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/** Length-prefixed bytes (varint length, -1 for null): a view of the response, as kafkajs's slice gives. */
function bytes(buf: Buffer, r: { pos: number }): Buffer | null {
  const length = varint(buf, r);
  if (length < 0) return null;
  const out = buf.subarray(r.pos, r.pos + length);
  r.pos += length;
  return out;
}
