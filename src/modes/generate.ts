/** `ferry generate`: seeded random orders or cars (or a file's records) into Kafka, an ingress, or the table. */
import { setTimeout as sleep } from "node:timers/promises";
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { bool, int, num, oneOf, str } from "../config/fields.ts";
import { ConfigError } from "../errors.ts";
import { compressionField, kafkaClientFields, kafkaSecurityFields, produceTimeoutField, registryProducerFields } from "../kafka/config.ts";
import { registrySchemaOf } from "../schema/json-schema.ts";
import { startRateClock } from "../pipeline/rate-clock.ts";
import { validateRecord } from "../schema/issues.ts";
import { RECORD_KIND_NAMES, RECORD_KINDS } from "../schema/kinds.ts";
import type { OutRecord, RecordTarget } from "../sinks/record-targets.ts";
import { openRecordFile } from "../sources/file-records.ts";
import { createGenerator } from "../sources/generator.ts";
import { redactUrlPassword } from "../log/redact.ts";
import { generateCollector, generateMetrics, type GenerateProgress } from "../status/collectors/generate.ts";
import { Dependencies } from "../status/dependencies.ts";
import { startStatusListener, statusListenerFields } from "../status/listener.ts";
import { defineMode } from "./mode.ts";

export const generateMode = defineMode({
  name: "generate",
  summary: "Random (seeded) orders or cars into Kafka, an ingress URL, or the embedded table",
  details:
    "Target: --brokers (a Kafka topic), --url (a running `ferry run`/`ferry serve`: POST /orders), or\n" +
    "neither (the embedded orders table in --data-dir). Without --count it runs until Ctrl-C/SIGTERM;\n" +
    "what was sent is flushed before it exits. The same --seed gives the same records, byte for byte.\n" +
    "--from FILE sends a CSV, NDJSON or Parquet file's records instead (--loop: over and over).\n" +
    "Into Kafka: at-least-once. Every record counted as accepted is in the topic, across broker crashes\n" +
    "and restarts; after a lost connection a record can appear twice, never zero times. Records Kafka\n" +
    "has not acknowledged within --produce-timeout end the run with exit 1.",
  config: v.object({
    kind: v.optional(oneOf(RECORD_KIND_NAMES as ["orders", "cars"], { doc: "Record kind." }), "orders"),
    count: v.optional(int({ doc: "How many records (default: endless until Ctrl-C).", min: 0 })),
    rate: v.optional(num({ doc: "Records per second (default: as fast as possible).", min: 0.001 })),
    seed: v.optional(int({ doc: "Seed: the same seed gives the same records.", min: 0, max: 2 ** 32 - 1 }), 1),
    invalidRatio: v.optional(num({ doc: "Share of deliberately invalid records (0 to 1).", min: 0, max: 1 }), 0),
    from: v.optional(str({ doc: "Send the records of this CSV, NDJSON or Parquet file instead of random ones.", placeholder: "FILE", min: 1 })),
    loop: v.optional(bool({ doc: "With --from: replay the file endlessly (or until --count)." }), false),
    brokers: v.optional(kafkaClientFields.brokers),
    clientId: kafkaClientFields.clientId,
    ...kafkaSecurityFields,
    ...produceTimeoutField,
    ...compressionField,
    topic: v.optional(str({ doc: "Topic to produce to (with --brokers).", placeholder: "TOPIC", min: 1 }), "orders"),
    partitions: v.optional(int({ doc: "Partitions of the topic when ferry creates it.", min: 1 }), 6),
    url: v.optional(str({ doc: "Ingress to post to instead of Kafka.", placeholder: "URL", pattern: /^https?:\/\//, patternHint: "must start with http:// or https://" })),
    batch: v.optional(int({ doc: "Records per send (Kafka batch or HTTP request).", min: 1, max: 100_000 }), 1000),
    ...registryProducerFields,
    ...statusListenerFields,
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const { log } = ctx;
    if (config.brokers && config.url) throw new ConfigError("give --brokers or --url, not both");
    if (config.kind !== "orders" && !config.brokers) throw new ConfigError(`--kind ${config.kind} can only go to Kafka (--brokers): the ingress and the table take orders`);
    if (config.loop && !config.from) throw new ConfigError("--loop needs --from FILE");
    if (config.schemaRegistry && !config.brokers) throw new ConfigError("--schema-registry frames Kafka values: it needs --brokers");

    const [{ embeddedTarget, ingressTarget, kafkaTarget }, { createKafka }, { registryOf }] = await Promise.all([
      import("../sinks/record-targets.ts"),
      import("../kafka/client.ts"),
      import("../kafka/registry.ts"),
    ]);
    // The status page's (--metrics-port): the same counters as /metrics, the target as a dependency.
    const dependencies = new Dependencies();
    const targetDep = config.brokers
      ? dependencies.add("kafka", "kafka", config.brokers.join(","))
      : config.url
        ? dependencies.add("ingress", "ingress", redactUrlPassword(config.url))
        : undefined;
    const target: RecordTarget = config.brokers
      ? await kafkaTarget(
          createKafka({ ...config, brokers: config.brokers }, log),
          {
            topic: config.topic,
            partitions: config.partitions,
            produceTimeoutMs: config.produceTimeout,
            compression: config.compression,
            registry: registryOf(config),
            valueSchema: registrySchemaOf(RECORD_KINDS[config.kind].schema),
          },
          log,
        )
      : config.url
        ? ingressTarget(config.url, log)
        : await embeddedTarget(config.dataDir, log);
    if (config.brokers) targetDep?.up(); // connected, the topic there
    const state: GenerateProgress = { target: target.describe, inFlight: 0, rateLimit: config.rate, countLimit: config.count, state: "running" };
    const metrics = generateMetrics(state);
    let listener;
    try {
      listener = startStatusListener(config, { registry: metrics.registry, collector: generateCollector(metrics, state), dependencies, effectiveConfig: ctx.effectiveConfig, log });
    } catch (e) {
      await target.close().catch(() => {});
      throw e;
    }
    if (listener) log.notice("status page", { url: listener.url });

    const records = config.from ? fileRecords(config.from, config.loop, config.kind) : randomRecords(config);
    const limit = config.count ?? Number.POSITIVE_INFINITY;
    let sent = 0;
    let accepted = 0;
    let refused = 0;
    const clock = startRateClock();
    const progress = setInterval(() => {
      ctx.progress(`ferry generate: ${sent} records, ${clock.perSecond(sent)}/s → ${target.describe}`);
    }, 500);
    // Sends overlap (up to 4 at once) so the target's round trips do not bound the rate.
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    try {
      let chunk: OutRecord[] = [];
      const flush = async () => {
        const records = chunk;
        chunk = [];
        if (records.length === 0) return;
        while (inFlight.size >= 4) await Promise.race(inFlight);
        if (failure) throw failure;
        metrics.records.inc({ result: "sent" }, records.length);
        state.inFlight += records.length;
        const p: Promise<void> = target
          .send(records)
          .then((r) => {
            accepted += r.accepted;
            refused += r.refused;
            metrics.records.inc({ result: "accepted" }, r.accepted);
            metrics.records.inc({ result: "refused" }, r.refused);
            targetDep?.up();
          })
          .catch((e) => {
            targetDep?.down(e);
            failure ??= e;
          })
          .finally(() => {
            state.inFlight -= records.length;
            inFlight.delete(p);
          });
        inFlight.add(p);
      };
      const step = config.rate ? Math.max(1, Math.min(config.batch, Math.ceil(config.rate / 20))) : config.batch;
      for await (const r of records) {
        if (sent >= limit || ctx.signal.aborted) break;
        chunk.push(r);
        sent++;
        if (chunk.length >= step) {
          await flush();
          if (config.rate) {
            const due = sent / config.rate - clock.elapsed();
            if (due > 0) await sleep(due * 1000, undefined, { signal: ctx.signal }).catch(() => {});
          }
        }
      }
      await flush();
      await Promise.all(inFlight);
      if (failure) throw failure;
      state.state = "finished";
    } catch (e) {
      state.state = "failed";
      throw e;
    } finally {
      clearInterval(progress);
      ctx.progress("");
      await Promise.allSettled(inFlight);
      await target.close();
      await listener?.stop();
    }
    log.notice("generated", { records: sent, accepted, refused, ...clock.figures(sent), target: target.describe });
    return 0;
  },
});

async function* randomRecords(config: { kind: "orders" | "cars"; seed: number; invalidRatio: number }): AsyncGenerator<OutRecord> {
  const gen = createGenerator(config);
  for (;;) yield gen.next();
}

/** A file's records, validated like any other (an invalid one is still sent: it is the target's to refuse). */
async function* fileRecords(path: string, loop: boolean, kind: "orders" | "cars"): AsyncGenerator<OutRecord> {
  const file = await openRecordFile(path);
  const { key } = RECORD_KINDS[kind];
  const schema = RECORD_KINDS[kind].schema as v.GenericSchema<unknown, Record<string, unknown>>;
  try {
    do {
      let any = false;
      for await (const rows of file.chunks()) {
        for (const [i, row] of rows.entries()) {
          any = true;
          yield { key: String(row[key] ?? ""), json: JSON.stringify(row), valid: validateRecord(schema, row, i).ok };
        }
      }
      if (!any) return;
    } while (loop);
  } finally {
    file.close();
  }
}
