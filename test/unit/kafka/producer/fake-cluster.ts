/**
 * A fake of the kafkajs cluster seam for the producer's unit tests, with a broker that keeps
 * Kafka's idempotence rules (per producer id and partition: the next batch must start at the last
 * sequence + 1; a repeat of one of the last five batches is answered as a success without being
 * written; anything else is OUT_OF_ORDER_SEQUENCE_NUMBER) and faults chosen per request: the
 * connection drops before or after the broker wrote the batches, or every partition gets an error
 * code. The real broker's behaviour is proven in test/integration/producer-faults.test.ts.
 */
// @ts-expect-error kafkajs internals have no types
import Decoder from "kafkajs/src/protocol/decoder.js";
// @ts-expect-error kafkajs internals have no types
import decodeBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import type { InternalBroker, InternalCluster, RawRequest, RawResponse } from "../../../../src/kafka/kafkajs/internals.ts";

export type Fault = "none" | "drop-before-write" | "drop-after-write" | { errorCode: number };

interface ProducerState {
  lastSeq: number;
  recent: { first: number; last: number }[];
}

export class FakeKafka {
  /** topic → partition → values written, in log order. */
  readonly logs = new Map<string, string[][]>();
  private readonly producers = new Map<string, ProducerState>();
  private nextProducerId = 1000n;
  down = false;
  requests = 0;
  producerIds = 0;
  /** Chooses the fault of each produce request (by its number, from 1). */
  faultOf: (request: number) => Fault = () => "none";
  latencyMs = 1;

  constructor(topics: Record<string, number>) {
    for (const [t, n] of Object.entries(topics)) this.logs.set(t, Array.from({ length: n }, () => []));
  }

  all(topic: string): string[] {
    return this.logs.get(topic)!.flat();
  }

  private connectionError(): Error {
    const e = new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9");
    e.name = "KafkaJSConnectionError";
    return e;
  }

  private async produce(body: Buffer): Promise<Buffer> {
    const n = ++this.requests;
    await new Promise((r) => setTimeout(r, this.latencyMs));
    if (this.down) throw this.connectionError();
    const fault = this.faultOf(n);
    if (fault === "drop-before-write") throw Object.assign(new Error("Closed connection"), { name: "KafkaJSConnectionClosedError" });
    const d = new Decoder(body);
    d.readInt16();
    d.readInt16();
    d.readInt32();
    const results: { topic: string; partition: number; code: number }[] = [];
    const topics = d.readInt32();
    for (let t = 0; t < topics; t++) {
      const topic = d.readString();
      const parts = d.readInt32();
      for (let p = 0; p < parts; p++) {
        const partition = d.readInt32();
        const size = d.readInt32();
        const slice = d.slice(size);
        d.forward(size);
        const batch = await decodeBatch(slice);
        const code = typeof fault === "object" ? fault.errorCode : this.apply(topic, partition, batch);
        results.push({ topic, partition, code });
      }
    }
    if (fault === "drop-after-write") throw Object.assign(new Error("Closed connection"), { name: "KafkaJSConnectionClosedError" });
    return encodeResponse(results);
  }

  private apply(topic: string, partition: number, batch: { producerId: string; firstSequence: number; records: { value: Buffer }[] }): number {
    const key = `${batch.producerId}/${topic}/${partition}`;
    const first = batch.firstSequence;
    const last = first + batch.records.length - 1;
    let st = this.producers.get(key);
    if (!st) {
      if (first !== 0) return 45;
      st = { lastSeq: -1, recent: [] };
      this.producers.set(key, st);
    }
    if (st.recent.some((r) => r.first === first && r.last === last)) return 0; // a duplicate: success, not written
    if (first !== st.lastSeq + 1) return 45; // OUT_OF_ORDER_SEQUENCE_NUMBER
    for (const r of batch.records) this.logs.get(topic)![partition]!.push(r.value.toString());
    st.lastSeq = last;
    st.recent.push({ first, last });
    if (st.recent.length > 5) st.recent.shift();
    return 0;
  }

  cluster(): InternalCluster {
    const kafka = this;
    const broker: InternalBroker = {
      nodeId: 0,
      versions: { 0: { minVersion: 3, maxVersion: 12 } },
      async initProducerId() {
        if (kafka.down) throw kafka.connectionError();
        kafka.producerIds++;
        return { producerId: String(kafka.nextProducerId++), producerEpoch: 0 };
      },
      connectionPool: {
        async send({ request, response }: { request: RawRequest; response: RawResponse<unknown> }) {
          const payload = await kafka.produce((await request.encode()).buffer);
          return response.parse(await response.decode(payload));
        },
      },
      async disconnect() {},
    };
    return {
      async connect() {
        if (kafka.down) throw kafka.connectionError();
      },
      async disconnect() {},
      isConnected: () => !kafka.down,
      async refreshMetadata() {
        if (kafka.down) throw kafka.connectionError();
      },
      async addMultipleTargetTopics() {},
      findTopicPartitionMetadata: (topic) => (kafka.logs.get(topic) ?? []).map((_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0 })),
      findBroker: async () => broker,
      findControllerBroker: async () => broker,
    };
  }
}

function encodeResponse(results: { topic: string; partition: number; code: number }[]): Buffer {
  const byTopic = new Map<string, typeof results>();
  for (const r of results) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
  const chunks: Buffer[] = [];
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    chunks.push(b);
  };
  i32(byTopic.size);
  for (const [topic, rs] of byTopic) {
    const name = Buffer.from(topic);
    const len = Buffer.alloc(2);
    len.writeInt16BE(name.length);
    chunks.push(len, name);
    i32(rs.length);
    for (const r of rs) {
      const b = Buffer.alloc(30);
      b.writeInt32BE(r.partition, 0);
      b.writeInt16BE(r.code, 4);
      b.writeBigInt64BE(0n, 6);
      b.writeBigInt64BE(-1n, 14);
      b.writeBigInt64BE(0n, 22);
      chunks.push(b);
    }
  }
  i32(0);
  return Buffer.concat(chunks);
}
