/**
 * Fetch v11 responses decoded by ferry instead of kafkajs, into exactly kafkajs's shape (so its
 * consumer works on it unchanged; test/integration/fetch-response.test.ts compares both on real
 * responses). Two reasons: speed (kafkajs decodes each record through several Decoder objects and
 * 64-bit Long arithmetic, about half of the sink's fetch time; here offsets are plain numbers while
 * they fit in 2^53 and keys and values stay views of the response), and hostile input: every batch
 * goes through src/kafka/record-batch-decoder.ts (CRC-32C, lengths, counts, bounded inflation).
 *
 * A batch that is refused does not stop its partition (Kafka's Java consumer throws
 * CorruptRecordException there, and the partition stays stuck until someone seeks past it):
 *  - damage that a fetch again may not show (a CRC mismatch, a length that passes the response, a
 *    wrong magic byte) is fetched again: the partition's records stop before the batch, so the
 *    consumer fetches from its offset. After MAX_ATTEMPTS fetches with the same damage,
 *  - or at once for what the bytes themselves say (a batch that inflates beyond the limit, a count
 *    its bytes cannot hold, a record that passes its batch's end: the CRC held, so the producer
 *    wrote it so),
 * the batch is replaced by one pointer message: its offset is the batch's last offset (so the
 * consumer moves past it) and it carries `corrupt` (reason, first and last offset, size) instead of
 * a value. The sink sends it to the dead-letter topic as a pointer (src/sinks/dead-letters.ts).
 * The last offset of a damaged batch comes from its header, bounded by the next batch's base
 * offset and the high watermark (the header's delta is not covered by the CRC once that failed).
 *
 * Installed through the seam (src/kafka/kafkajs/internals.ts).
 */
import { type BatchContext, type BatchRefusal, decodeBatchAt, type DecodedRecord, type InflateBudget } from "./record-batch-decoder.ts";

/** What a pointer message says about the batch it replaces. */
export interface CorruptBatch {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  /** The batch's declared size in bytes. */
  bytes: number;
  reason: string;
}

/** A message standing for a refused batch (kafkajs's shape; no key, value or headers). */
export interface PointerMessage extends Omit<DecodedRecord, "key" | "value"> {
  key: null;
  value: null;
  corrupt: CorruptBatch;
}

export const corruptionOf = (m: object): CorruptBatch | undefined => (m as Partial<PointerMessage>).corrupt;

export interface FetchDecoderSettings {
  /** The most one batch may inflate to; also the budget of one whole response. */
  maxInflatedBytes: number;
  /** Fetches that must show the same damage before the batch is given up on. */
  maxAttempts: number;
  /** Told of each refused batch: `attempt` of `maxAttempts`, `skipped` once it is replaced by a pointer. */
  onRefused?(batch: CorruptBatch, attempt: number, skipped: boolean): void;
}

export const DEFAULT_MAX_INFLATED_BYTES = 64 << 20;
const settings: FetchDecoderSettings = { maxInflatedBytes: DEFAULT_MAX_INFLATED_BYTES, maxAttempts: 3 };

/** Sets the limits (the sink's --max-inflated-bytes) and who is told of refused batches; for this process. */
export function configureFetchDecoder(s: Partial<FetchDecoderSettings>): void {
  Object.assign(settings, s);
}

/** Fetches that saw a damaged batch, by topic/partition/base offset (bounded: a few entries at most in practice). */
const attempts = new Map<string, number>();
const MAX_TRACKED = 1024;

/** A reader of the response framing; a frame that passes the buffer throws (the fetch fails, kafkajs retries it). */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): string {
    const v = this.buf.readBigInt64BE(this.pos).toString();
    this.pos += 8;
    return v;
  }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    return this.take(n).toString("utf8");
  }
  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new RangeError(`fetch response: ${n} bytes wanted at ${this.pos}, ${this.buf.length - this.pos} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  array<T>(read: () => T): T[] {
    const n = this.int32();
    if (n <= 0) return [];
    if (n > this.buf.length - this.pos) throw new RangeError(`fetch response: an array of ${n} entries in ${this.buf.length - this.pos} bytes`);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = read();
    return out;
  }
}

/** A drop-in for kafkajs's fetch v11 response `decode`. */
export async function decodeFetchV11(rawData: Buffer) {
  const r = new Reader(rawData);
  const clientSideThrottleTime = r.int32();
  const errorCode = r.int16();
  const sessionId = r.int32();
  const budget: InflateBudget = { maxBytes: settings.maxInflatedBytes, left: settings.maxInflatedBytes };
  const responses = r.array(() => {
    const topicName = r.string()!;
    return { topicName, partitions: r.array(() => decodePartition(r, topicName, budget)) };
  });
  // As kafkajs: the broker did not throttle this request; a client-side throttle time is reported apart.
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

function decodePartition(r: Reader, topic: string, budget: InflateBudget) {
  const partition = r.int32();
  const errorCode = r.int16();
  const highWatermark = r.int64();
  const lastStableOffset = r.int64();
  const lastStartOffset = r.int64();
  const abortedTransactions = r.array(() => ({ producerId: r.int64(), firstOffset: r.int64() }));
  const preferredReadReplica = r.int32();
  const size = r.int32();
  const messages = size <= 0 ? [] : decodeRecordSet(r.take(size), topic, partition, highWatermark, budget);
  return { partition, errorCode, highWatermark, lastStableOffset, lastStartOffset, abortedTransactions, preferredReadReplica, messages };
}

/** A partition's records: every whole batch, until a partial tail, a deferred batch or damage to fetch again. */
export function decodeRecordSet(buf: Buffer, topic: string, partition: number, highWatermark: string, budget: InflateBudget): (DecodedRecord | PointerMessage)[] {
  const out: (DecodedRecord | PointerMessage)[] = [];
  let pos = 0;
  let first = true;
  while (pos < buf.length) {
    const o = decodeBatchAt(buf, pos, first, budget);
    if (o.kind === "partial" || o.kind === "deferred") break;
    first = false;
    if (o.kind === "records") {
      for (const rec of o.records) out.push(rec);
      pos = o.next;
      continue;
    }
    const corrupt = describe(o, buf, topic, partition, highWatermark);
    const key = `${topic}\0${partition}\0${o.baseOffset}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    if (o.retriable && attempt < settings.maxAttempts) {
      if (attempts.size >= MAX_TRACKED) attempts.delete(attempts.keys().next().value!);
      attempts.set(key, attempt);
      settings.onRefused?.(corrupt, attempt, false);
      break; // fetched again from this batch's offset
    }
    attempts.delete(key);
    settings.onRefused?.(corrupt, o.retriable ? attempt : 1, true);
    out.push(pointer(corrupt));
    if (o.next === undefined) break;
    pos = o.next;
  }
  return out;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

function describe(o: BatchRefusal, buf: Buffer, topic: string, partition: number, highWatermark: string): CorruptBatch {
  const base = o.baseOffset;
  let last = base + BigInt(Math.max(0, o.lastOffsetDelta ?? 0));
  if (o.next !== undefined && o.next + 8 <= buf.length) {
    const nextBase = buf.readBigInt64BE(o.next);
    if (nextBase > base) last = min(last, nextBase - 1n);
  }
  const high = BigInt(highWatermark);
  if (high - 1n >= base) last = min(last, high - 1n);
  return { topic, partition, firstOffset: base.toString(), lastOffset: last.toString(), bytes: o.bytes, reason: `corrupt record batch at offset ${base}: ${o.reason}` };
}

const POINTER_CONTEXT: BatchContext = Object.freeze({
  firstOffset: "-1",
  firstTimestamp: "-1",
  partitionLeaderEpoch: -1,
  inTransaction: false,
  isControlBatch: false,
  lastOffsetDelta: 0,
  producerId: "-1",
  producerEpoch: -1,
  firstSequence: -1,
  maxTimestamp: "-1",
  timestampType: 0,
  magicByte: 2,
});

function pointer(corrupt: CorruptBatch): PointerMessage {
  return {
    magicByte: 2,
    attributes: 0,
    timestamp: "-1",
    offset: corrupt.lastOffset,
    key: null,
    value: null,
    headers: Object.create(null),
    isControlRecord: false,
    batchContext: POINTER_CONTEXT,
    corrupt,
  };
}
