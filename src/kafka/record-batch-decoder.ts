/**
 * RecordBatch v2 decoding for the consumer, with the checks Kafka's Java consumer makes and some
 * it leaves to memory: each batch's CRC-32C, its length, its record count against the bytes that
 * can hold it, each record's declared size, varints of at most 5 (10) bytes, lengths that stay
 * inside their record, null header names (refused, as Java does), offsets inside the batch, and a
 * bound on how far a compressed batch may inflate (the codec stops there; nothing bigger is
 * allocated). A batch is either decoded exactly (the records, in kafkajs's message shape, keys and
 * values views of the response or of the inflated records) or refused with a reason; nothing in
 * it can make the decoder loop, read outside the buffer or allocate what the bytes do not justify.
 *
 * Header names may be anything, `__proto__` and `constructor` included: headers are objects
 * without a prototype, and the ordered list of (raw name, value) pairs rides along under
 * HEADER_PAIRS (not enumerable) so that a dead letter copies them exactly, repeats and order kept.
 */
import { CODEC_NAMES, decompress, InflateLimitError } from "./codecs/decompress.ts";
import { crc32c } from "./producer/crc32c.ts";
import { ATTRIBUTES_OFFSET, BATCH_OVERHEAD, CRC_OFFSET } from "./producer/record-batch.ts";

/** Bytes before a batch's length field counts: base offset (8) and the length itself (4). */
const LOG_OVERHEAD = 12;
const MAGIC_OFFSET = 16;
const LAST_OFFSET_DELTA_OFFSET = 23;
const FIRST_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;
const PRODUCER_ID_OFFSET = 43;
const COUNT_OFFSET = 57;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_MASK = 0x10;
const CONTROL_MASK = 0x20;
const LOG_APPEND_TIME = 1;
const CREATE_TIME = 0;
/** The smallest record: size, attributes, timestamp delta, offset delta, key and value lengths, header count (1 byte each). */
const MIN_RECORD_BYTES = 7;

export const HEADER_PAIRS = Symbol.for("ferry.kafka.headerPairs");
/** A header as it was on the wire: its name's bytes and its value (null: a null value). */
export type HeaderPair = readonly [name: Buffer, value: Buffer | null];
export type RecordHeaders = Record<string, Buffer | null | (Buffer | null)[]>;

/** The headers' pairs in their order (the decoder's own list, or rebuilt from an object of kafkajs's shape). */
export function headerPairsOf(headers: object | undefined): HeaderPair[] {
  if (!headers) return [];
  const own = (headers as { [HEADER_PAIRS]?: HeaderPair[] })[HEADER_PAIRS];
  if (own) return own;
  const pairs: HeaderPair[] = [];
  for (const [k, v] of Object.entries(headers)) {
    for (const one of Array.isArray(v) ? v : [v]) pairs.push([Buffer.from(k, "utf8"), one === null || one === undefined ? null : Buffer.from(one as Uint8Array | string)]);
  }
  return pairs;
}

export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: 2;
}

/** A record in kafkajs's message shape (what its consumer expects from a fetch). */
export interface DecodedRecord {
  magicByte: 2;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

export type BatchOutcome =
  | { kind: "records"; records: DecodedRecord[]; next: number; inflated: number }
  /** No complete batch from here: the tail of a response cut by its size limit. */
  | { kind: "partial" }
  /** A compressed batch that fits the limit but not what is left of the response's budget: read it in a later fetch. */
  | { kind: "deferred" }
  | BatchRefusal;

export interface BatchRefusal {
  kind: "refused";
  reason: string;
  /** True when a fetch again may give other bytes (a CRC mismatch, a length beyond the response: damage in transit). */
  retriable: boolean;
  baseOffset: bigint;
  /** The batch's last offset delta, if its header could be read (not checked by the CRC when that failed). */
  lastOffsetDelta: number | undefined;
  /** The batch's size in bytes, as declared. */
  bytes: number;
  /** Where the next batch starts, when this one's length could be trusted. */
  next: number | undefined;
}

export interface InflateBudget {
  /** The most a batch may inflate to (--max-inflated-bytes). */
  readonly maxBytes: number;
  /** What is left for the rest of the response (starts at maxBytes). */
  left: number;
}

class Corrupt extends Error {}

/** A read position in a buffer, with the end it must not pass. */
interface Cursor {
  pos: number;
}

function varint(buf: Buffer, r: Cursor, end: number): number {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    if (r.pos >= end) throw new Corrupt("truncated varint");
    if (shift > 28) throw new Corrupt("varint longer than 5 bytes");
    byte = buf[r.pos++]!;
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return (result >>> 1) ^ -(result & 1);
}

/** A zigzag varlong: a number while it is safe, else a bigint. */
function varlong(buf: Buffer, r: Cursor, end: number): number | bigint {
  const start = r.pos;
  let result = 0;
  let scale = 1;
  let byte: number;
  let n = 0;
  do {
    if (r.pos >= end) throw new Corrupt("truncated varlong");
    if (++n > 10) throw new Corrupt("varlong longer than 10 bytes");
    byte = buf[r.pos++]!;
    result += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  if (result <= Number.MAX_SAFE_INTEGER) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  let big = 0n;
  for (let i = r.pos - 1; i >= start; i--) big = (big << 7n) | BigInt(buf[i]! & 0x7f);
  big = BigInt.asUintN(64, big);
  return (big >> 1n) ^ -(big & 1n);
}

/** Length-prefixed bytes (-1: null), a view of `buf`, inside `end`. */
function bytes(buf: Buffer, r: Cursor, end: number, what: string): Buffer | null {
  const length = varint(buf, r, end);
  if (length === -1) return null;
  if (length < 0) throw new Corrupt(`${what} length ${length}`);
  if (r.pos + length > end) throw new Corrupt(`${what} of ${length} bytes passes the end of its record`);
  const out = buf.subarray(r.pos, r.pos + length);
  r.pos += length;
  return out;
}

const add = (base: number | bigint, delta: number | bigint): string =>
  typeof base === "number" && typeof delta === "number" && Number.isSafeInteger(base + delta) ? String(base + delta) : String(BigInt(base) + BigInt(delta));

const safeOrBig = (n: bigint): number | bigint => (n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);

/** The headers of every record without any (one frozen object: no allocation per record). */
const NO_HEADERS = Object.freeze(Object.create(null)) as RecordHeaders;

/** Decodes `count` records from `buf[start, end)`, which they must fill exactly. */
function decodeRecords(buf: Buffer, start: number, end: number, count: number, ctx: BatchContext, firstOffset: number | bigint, firstTimestamp: number | bigint): DecodedRecord[] {
  if (count > (end - start) / MIN_RECORD_BYTES) throw new Corrupt(`record count ${count} cannot fit in ${end - start} bytes`);
  const records = new Array<DecodedRecord>(count);
  const logAppend = ctx.timestampType === LOG_APPEND_TIME;
  const r: Cursor = { pos: start };
  let lastDelta = -1;
  for (let i = 0; i < count; i++) {
    const size = varint(buf, r, end);
    const next = r.pos + size;
    if (size < MIN_RECORD_BYTES - 1 || next > end) throw new Corrupt(`record ${i}: size ${size} does not fit in the batch`);
    const attributes = buf.readInt8(r.pos++);
    const timestampDelta = varlong(buf, r, next);
    const offsetDelta = varint(buf, r, next);
    if (offsetDelta <= lastDelta || offsetDelta > ctx.lastOffsetDelta) throw new Corrupt(`record ${i}: offset delta ${offsetDelta} out of order or beyond the batch's last (${ctx.lastOffsetDelta})`);
    lastDelta = offsetDelta;
    const key = bytes(buf, r, next, "key");
    const value = bytes(buf, r, next, "value");
    const headerCount = varint(buf, r, next);
    if (headerCount < 0 || headerCount > (next - r.pos) / 2) throw new Corrupt(`record ${i}: header count ${headerCount}`);
    let headers = NO_HEADERS;
    if (headerCount > 0) {
      headers = Object.create(null) as RecordHeaders;
      const pairs = new Array<HeaderPair>(headerCount);
      for (let h = 0; h < headerCount; h++) {
        const name = bytes(buf, r, next, "header name");
        if (name === null) throw new Corrupt(`record ${i}: a header with a null name`);
        const headerValue = bytes(buf, r, next, "header value");
        pairs[h] = [name, headerValue];
        const k = name.toString("utf8");
        const seen = headers[k];
        headers[k] = seen === undefined ? headerValue : Array.isArray(seen) ? [...seen, headerValue] : [seen, headerValue];
      }
      Object.defineProperty(headers, HEADER_PAIRS, { value: pairs });
    }
    if (r.pos !== next) throw new Corrupt(`record ${i}: declared ${size} bytes, holds ${size - (next - r.pos)}`);
    records[i] = {
      magicByte: 2,
      attributes,
      timestamp: logAppend ? ctx.maxTimestamp : add(firstTimestamp, timestampDelta),
      offset: add(firstOffset, offsetDelta),
      key,
      value,
      headers,
      isControlRecord: ctx.isControlBatch,
      batchContext: ctx,
    };
  }
  if (r.pos !== end) throw new Corrupt(`${end - r.pos} bytes after the last of ${count} records`);
  return records;
}

/**
 * The batch at `buf[pos...]`. `first`: the first batch of a partition's records in a response
 * (Kafka sends that one whole even beyond the fetch size, so a cut one is damage, not a tail).
 */
export function decodeBatchAt(buf: Buffer, pos: number, first: boolean, budget: InflateBudget, checkCrc = true): BatchOutcome {
  const remaining = buf.length - pos;
  if (remaining < LOG_OVERHEAD) return { kind: "partial" };
  const baseOffset = buf.readBigInt64BE(pos);
  const length = buf.readInt32BE(pos + 8);
  const headerRead = remaining >= BATCH_OVERHEAD;
  const refuse = (reason: string, retriable: boolean, next: number | undefined): BatchRefusal => ({
    kind: "refused",
    reason,
    retriable,
    baseOffset,
    lastOffsetDelta: headerRead ? buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET) : undefined,
    bytes: LOG_OVERHEAD + length,
    next,
  });
  if (length < BATCH_OVERHEAD - LOG_OVERHEAD) return refuse(`batch length ${length} is below the ${BATCH_OVERHEAD - LOG_OVERHEAD} bytes of a batch header`, true, undefined);
  const end = pos + LOG_OVERHEAD + length;
  if (end > buf.length) return first ? refuse(`batch length ${length} passes the ${remaining} bytes the broker sent`, true, undefined) : { kind: "partial" };
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== 2) return refuse(`magic byte ${magic}: not a RecordBatch v2 (legacy message sets are not read)`, true, end);
  const crc = buf.readUInt32BE(pos + CRC_OFFSET);
  if (checkCrc) {
    const actual = crc32c(buf, pos + ATTRIBUTES_OFFSET, end);
    if (actual !== crc) return refuse(`CRC-32C mismatch: stored ${crc.toString(16)}, computed ${actual.toString(16)}`, true, end);
  }
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  const codec = attributes & COMPRESSION_MASK;
  if (codec > 4) return refuse(`unknown compression codec ${codec}`, false, end);
  const count = buf.readInt32BE(pos + COUNT_OFFSET);
  if (count < 0) return refuse(`record count ${count}`, false, end);
  const firstOffset = safeOrBig(baseOffset);
  const firstTimestampBig = buf.readBigInt64BE(pos + FIRST_TIMESTAMP_OFFSET);
  const ctx: BatchContext = {
    firstOffset: baseOffset.toString(),
    firstTimestamp: firstTimestampBig.toString(),
    partitionLeaderEpoch: buf.readInt32BE(pos + 12),
    inTransaction: (attributes & TRANSACTIONAL_MASK) !== 0,
    isControlBatch: (attributes & CONTROL_MASK) !== 0,
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    producerId: buf.readBigInt64BE(pos + PRODUCER_ID_OFFSET).toString(),
    producerEpoch: buf.readInt16BE(pos + 51),
    firstSequence: buf.readInt32BE(pos + 53),
    maxTimestamp: buf.readBigInt64BE(pos + MAX_TIMESTAMP_OFFSET).toString(),
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? LOG_APPEND_TIME : CREATE_TIME,
    magicByte: 2,
  };
  const firstTimestamp = safeOrBig(firstTimestampBig);
  let records: Buffer = buf;
  let start = pos + BATCH_OVERHEAD;
  let stop = end;
  let inflated = 0;
  if (codec !== 0 && count > 0) {
    if (count > budget.maxBytes / MIN_RECORD_BYTES) return refuse(`record count ${count} cannot fit in ${budget.maxBytes} inflated bytes`, false, end);
    const limit = Math.min(budget.maxBytes, Math.max(0, budget.left));
    try {
      records = decompress(codec, buf.subarray(start, end), limit);
    } catch (e) {
      if (e instanceof InflateLimitError) {
        if (limit < budget.maxBytes) return { kind: "deferred" };
        return refuse(`${CODEC_NAMES[codec]} batch inflates beyond ${budget.maxBytes} bytes (--max-inflated-bytes)`, false, end);
      }
      return refuse(`${CODEC_NAMES[codec]} data does not decompress: ${(e as Error).message}`, false, end);
    }
    inflated = records.length;
    budget.left -= inflated;
    start = 0;
    stop = records.length;
  }
  try {
    const decoded = count === 0 ? [] : decodeRecords(records, start, stop, count, ctx, firstOffset, firstTimestamp);
    return { kind: "records", records: decoded, next: end, inflated };
  } catch (e) {
    if (e instanceof Corrupt) return refuse(e.message, false, end);
    throw e;
  }
}
