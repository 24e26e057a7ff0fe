/**
 * Produce request v7 (the first version that carries zstd batches; Kafka 4 serves v3–v12) with
 * batches ferry encoded itself, and its response decoder.
 *
 *   Produce Request (v7) => transactional_id acks timeout [topic_data]
 *     topic_data => topic [partition record_set]
 *   Produce Response (v7) => [topic [partition error_code base_offset log_append_time log_start_offset]] throttle_time_ms
 */
import type { RawRequest, RawResponse } from "../kafkajs/internals.ts";

export const PRODUCE_API_KEY = 0;
export const PRODUCE_VERSION = 7;

export interface PartitionBatch {
  topic: string;
  partition: number;
  batch: Buffer;
}

export interface PartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  baseOffset: bigint;
}

export interface ProduceResponse {
  results: PartitionResult[];
  throttleTime: number;
  clientSideThrottleTime: number;
}

/** The request body: acks=all, `timeoutMs` for the broker to gather the replicas' acknowledgements. */
export function encodeProduceBody(batches: readonly PartitionBatch[], timeoutMs: number): Buffer {
  const byTopic = new Map<string, PartitionBatch[]>();
  for (const b of batches) {
    const list = byTopic.get(b.topic);
    if (list) list.push(b);
    else byTopic.set(b.topic, [b]);
  }
  let size = 2 + 2 + 4 + 4;
  const names = new Map<string, Buffer>();
  for (const [topic, parts] of byTopic) {
    const name = Buffer.from(topic, "utf8");
    names.set(topic, name);
    size += 2 + name.length + 4;
    for (const p of parts) size += 4 + 4 + p.batch.length;
  }
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  o = buf.writeInt16BE(-1, o); // transactional_id: null
  o = buf.writeInt16BE(-1, o); // acks: all
  o = buf.writeInt32BE(timeoutMs, o);
  o = buf.writeInt32BE(byTopic.size, o);
  for (const [topic, parts] of byTopic) {
    const name = names.get(topic)!;
    o = buf.writeInt16BE(name.length, o);
    o += name.copy(buf, o);
    o = buf.writeInt32BE(parts.length, o);
    for (const p of parts) {
      o = buf.writeInt32BE(p.partition, o);
      o = buf.writeInt32BE(p.batch.length, o);
      o += p.batch.copy(buf, o);
    }
  }
  return buf;
}

export function produceRequest(body: Buffer): RawRequest {
  return {
    apiKey: PRODUCE_API_KEY,
    apiVersion: PRODUCE_VERSION,
    apiName: "Produce",
    expectResponse: () => true,
    encode: async () => ({ buf: body, buffer: body }),
  };
}

export function decodeProduceResponse(payload: Buffer): ProduceResponse {
  let o = 0;
  const results: PartitionResult[] = [];
  const topics = payload.readInt32BE(o);
  o += 4;
  for (let t = 0; t < topics; t++) {
    const len = payload.readInt16BE(o);
    o += 2;
    const topic = payload.toString("utf8", o, o + len);
    o += len;
    const parts = payload.readInt32BE(o);
    o += 4;
    for (let p = 0; p < parts; p++) {
      const partition = payload.readInt32BE(o);
      const errorCode = payload.readInt16BE(o + 4);
      const baseOffset = payload.readBigInt64BE(o + 6);
      o += 4 + 2 + 8 + 8 + 8;
      results.push({ topic, partition, errorCode, baseOffset });
    }
  }
  const throttle = payload.readInt32BE(o);
  // Since v6 the broker answers before throttling and the client waits (KIP-219), as kafkajs does.
  return { results, throttleTime: 0, clientSideThrottleTime: throttle };
}

export const produceResponse: RawResponse<ProduceResponse> = {
  decode: async (payload) => decodeProduceResponse(payload),
  parse: async (decoded) => decoded,
};
