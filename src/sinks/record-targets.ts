/**
 * Where `ferry generate` sends records: a Kafka topic, a running ingress (POST /orders), or the
 * embedded orders table. Each target takes records as JSON text with their keys and answers how
 * many were accepted and how many refused (invalid ones: by the ingress or the table's schema;
 * Kafka takes everything — the sink sorts out bad records into the dead-letter topic).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka } from "kafkajs";
import { DownstreamError, errorMessage } from "../errors.ts";
import { connectFailure } from "../kafka/client.ts";
import { openProducer, type IdempotentProducer } from "../kafka/producer/index.ts";
import { valueWriter, type SchemaRegistry } from "../kafka/registry.ts";
import { ensureTopic } from "../kafka/topics.ts";
import type { Compression } from "../kafka/codecs/compress.ts";
import type { JsonSchema } from "../schema/json-schema.ts";
import type { Logger } from "../log/logger.ts";
import { OrderSchema, withReceiveTime, type Order } from "../schema/order.ts";
import { validateRecord } from "../schema/issues.ts";
import { type EmbeddedOrderSink, openEmbeddedOrderSink } from "./embedded-orders.ts";
import { dataPaths } from "../db/duckdb.ts";
import { fetchOverSocket } from "../platform/local-socket.ts";
import { existsSync } from "node:fs";

export interface OutRecord {
  key: string;
  json: string;
  /** Whether the generator meant it to be valid (invalid ones are sent alone to an ingress). */
  valid: boolean;
}

export interface RecordTarget {
  readonly describe: string;
  /** Resolves once the records are durable (or refused): counts of both. */
  send(records: OutRecord[]): Promise<{ accepted: number; refused: number }>;
  close(): Promise<void>;
}

export interface KafkaTargetOptions {
  topic: string;
  /** Partitions of the topic when ferry creates it. */
  partitions: number;
  /** A send not acknowledged within this long fails (its unsent records are never sent). */
  produceTimeoutMs: number;
  compression: Compression;
  /** With a registry, `valueSchema` is registered under `<topic>-value` and every value framed with its id. */
  registry?: SchemaRegistry;
  valueSchema: JsonSchema;
}

export async function kafkaTarget(kafka: Kafka, opts: KafkaTargetOptions, log: Logger): Promise<RecordTarget> {
  const { topic, partitions, produceTimeoutMs } = opts;
  const write = await valueWriter(opts.registry, topic, opts.valueSchema);
  const admin = kafka.admin();
  const started = Date.now();
  let producer: IdempotentProducer;
  try {
    await admin.connect();
    await ensureTopic(admin, topic, partitions, log);
    producer = await openProducer(kafka, [topic], log, { compression: opts.compression });
  } catch (e) {
    throw connectFailure(e, Date.now() - started);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  return {
    describe: `kafka topic ${topic}${opts.registry ? ` (schema registry ${opts.registry.url})` : ""}`,
    async send(records) {
      await producer.send(
        topic,
        records.map((r) => ({ key: r.key, value: write(r.json) })),
        produceTimeoutMs,
      );
      return { accepted: records.length, refused: 0 };
    },
    close: () => producer.close(produceTimeoutMs),
  };
}

/** A running ingress (`ferry run` or `serve`): at a URL, or (`socket`) through its data dir's local socket. */
export function ingressTarget(url: string, log: Logger, socket?: string): RecordTarget {
  const endpoint = socket ? `${socket} (local socket of the running ferry)` : `${url.replace(/\/$/, "")}/orders`;
  const request = (init: RequestInit) => (socket ? fetchOverSocket(socket, "/orders", init) : fetch(endpoint, init));
  async function post(body: string, count: number): Promise<{ accepted: number; refused: number }> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await request({ method: "POST", headers: { "content-type": "application/x-ndjson" }, body });
      } catch (e) {
        throw new DownstreamError("http", `cannot reach ${endpoint}: ${errorMessage(e)}`, { cause: e });
      }
      if (res.status === 202) return { accepted: ((await res.json()) as { accepted: number }).accepted, refused: 0 };
      if (res.status === 422) {
        await res.body?.cancel();
        return { accepted: 0, refused: count };
      }
      if ((res.status === 429 || res.status === 503) && attempt < 30) {
        const wait = Math.min(5, Number(res.headers.get("retry-after") ?? 1) || 1);
        await res.body?.cancel();
        log.info("ingress busy, retrying", { status: res.status, waitSeconds: wait });
        await sleep(wait * 1000);
        continue;
      }
      throw new DownstreamError("http", `${endpoint} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    }
  }
  return {
    describe: `ingress ${endpoint}`,
    async send(records) {
      // Invalid records go alone: one would make the ingress refuse the whole request.
      const good = records.filter((r) => r.valid);
      let accepted = 0;
      let refused = 0;
      if (good.length > 0) {
        const r = await post(good.map((g) => g.json).join("\n"), good.length);
        accepted += r.accepted;
        refused += r.refused;
      }
      for (const bad of records.filter((r) => !r.valid)) refused += (await post(bad.json, 1)).refused;
      return { accepted, refused };
    },
    close: async () => {},
  };
}

/**
 * The orders table of a data dir. When a running `ferry run` holds it (DuckDB has one writer
 * process), the records go through that process's local socket instead.
 */
export async function embeddedTarget(dataDir: string, log: Logger): Promise<RecordTarget> {
  let sink: EmbeddedOrderSink;
  try {
    sink = await openEmbeddedOrderSink({ dataDir, rollupIntervalMs: 10_000, lingerMs: 0, maxBatchRecords: 5000 }, log);
  } catch (e) {
    const { socket } = dataPaths(dataDir);
    if (!(existsSync(socket) && /lock/i.test(errorMessage(e)))) throw e;
    log.notice("the data dir is held by a running ferry: sending through its socket", { socket });
    return ingressTarget("", log, socket);
  }
  return {
    describe: `orders table in ${dataDir}`,
    async send(records) {
      const now = new Date();
      const orders = [];
      let refused = 0;
      for (const [i, r] of records.entries()) {
        let input: unknown;
        try {
          input = JSON.parse(r.json);
        } catch {
          refused++;
          continue;
        }
        const v = validateRecord(OrderSchema, input, i);
        if (v.ok) orders.push(withReceiveTime(v.value as Order, now));
        else refused++;
      }
      if (orders.length > 0) await sink.write(orders);
      return { accepted: orders.length, refused };
    },
    close: () => sink.close(),
  };
}
