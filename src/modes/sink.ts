/** `ferry sink`: Kafka micro-batches into the Parquet lake and the orders table, exactly once. */
import { mkdirSync } from "node:fs";
import * as v from "valibot";
import { dataDirField, logLevelField } from "../config/common.ts";
import { bool, duration, int, list, oneOf, str } from "../config/fields.ts";
import { dataPaths } from "../db/duckdb.ts";
import { servedQueries } from "../db/query-service.ts";
import { queryServiceFields, querySettingsOf } from "../config/query.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import { Counter, Gauge, Histogram, Registry } from "../http/metrics.ts";
import { kafkaClientFields, produceTimeoutField, schemaRegistryFields } from "../kafka/config.ts";
import { serveLocal } from "../platform/local-socket.ts";
import { memoryGovernor } from "../platform/process.ts";
import { batchPolicyFields, batchPolicyOf } from "../pipeline/batch-policy.ts";
import type { DecodingBatch } from "../pipeline/decode.ts";
import { partitionsByTopic } from "../pipeline/partitions.ts";
import { RECORD_KIND_NAMES } from "../schema/kinds.ts";
import { FAULT_POINTS, openLakeBatchStore } from "../lake/batch-store.ts";
import { catalogFields, catalogOf } from "../lake/catalog.ts";
import { FencedError } from "../lake/offsets.ts";
import { lockdownGap } from "../lake/read.ts";
import { maintainEveryField, maintenanceFields, maintenancePolicyOf, scheduleMaintenance } from "../lake/maintenance.ts";
import { dataPathOf, lakeFields } from "../lake/data-path.ts";
import type { SourceBatch } from "../sources/kafka.ts";
import { crashAtSetting } from "../config/crash-at.ts";
import { Availability } from "../kafka/availability.ts";
import { lakeDependencies } from "../status/collectors/lake.ts";
import { SinkEvents, sinkCollector } from "../status/collectors/sink.ts";
import { Dependencies, follow } from "../status/dependencies.ts";
import { startStatusListener, statusListenerFields, type StatusListener } from "../status/listener.ts";
import { redactUrlPassword } from "../log/redact.ts";
import { defineMode } from "./mode.ts";

const CRASH_AT = crashAtSetting(FAULT_POINTS, "batch");

export const sinkMode = defineMode({
  name: "sink",
  summary: "Kafka micro-batches into the lake (a DuckLake catalog: Parquet + orders), exactly once",
  details:
    "Reads the topics in a consumer group (offsets managed by ferry, never auto-committed; a partition\n" +
    "without offsets starts at the earliest record). A batch closes after --interval, --max-records or\n" +
    "--max-bytes; its valid records go to the lake's catalog in one transaction with the batch's offsets:\n" +
    "the table `lake` (every record once, with kafka_topic/partition/offset, ingested_at and date; Parquet\n" +
    "under --lake: <data-dir>/lake/ or s3://BUCKET/PREFIX with the AWS_* variables) and the view `orders`\n" +
    "(each order_id's latest record); only then are offsets committed to Kafka. The catalog (--catalog):\n" +
    "a DuckDB file <data-dir>/lake.ducklake (one process), sqlite:PATH (one host) or postgres://… (many\n" +
    "hosts: every member of the group, one lake, one orders). A member that lost its partitions commits\n" +
    "nothing and stops. Invalid records go to <topic>.dlq with headers ferry.error, ferry.source.topic,\n" +
    "ferry.source.partition and ferry.source.offset (at-least-once: acknowledged by Kafka before the\n" +
    "batch commits; a crash can repeat one). Every --maintain-every the lake is maintained (see ferry\n" +
    "maintain), one member at a time. While it runs, `ferry query` reaches it through <data-dir>/ferry.sock.",
  config: v.object({
    ...kafkaClientFields,
    ...produceTimeoutField,
    ...schemaRegistryFields,
    topic: v.optional(list({ doc: "Topic(s) to read.", placeholder: "TOPIC", min: 1 }), ["orders"]),
    group: v.optional(str({ doc: "Consumer group id.", placeholder: "GROUP", min: 1 }), "ferry-sink"),
    kind: v.optional(oneOf(RECORD_KIND_NAMES as ["orders", "cars"], { doc: "Record kind (its schema validates every record)." }), "orders"),
    ...batchPolicyFields,
    sessionTimeout: v.optional(
      duration({ doc: "A sink not heard from for this long leaves the group and its partitions move (the broker allows 6s to 30m).", min: 1000 }),
      30_000,
    ),
    untilCaughtUp: v.optional(
      bool({ doc: "Stop once every assigned partition has reached the end it had at start (a one-shot run)." }),
      false,
    ),
    maxInflatedBytes: v.optional(
      int({ doc: "A compressed record batch that inflates beyond this many bytes is not read: it goes to <topic>.dlq as a pointer (topic, partition, offsets, reason).", placeholder: "BYTES", min: 1 << 20 }),
      64 << 20,
    ),
    dbMemory: v.optional(int({ doc: "Memory DuckDB may use for the table and the lake, in MiB (it spills to disk beyond).", placeholder: "MIB", min: 64 }), 160),
    dbThreads: v.optional(int({ doc: "DuckDB worker threads (records are decoded on another thread beside them).", min: 1, max: 64 }), 1),
    ...statusListenerFields,
    crashAt: CRASH_AT.field,
    ...lakeFields,
    ...catalogFields,
    ...maintainEveryField,
    ...maintenanceFields,
    ...queryServiceFields,
    ...dataDirField,
    ...logLevelField,
  }),
  async run(config, ctx) {
    /** One membership of the group: from joining to a stop, a failure, or a fenced batch (then it starts over). */
    const session = async (): Promise<number | "fenced"> => {
      const [{ createKafka }, { registerCodecs }, { registryOf }, { createDecoder }, { openDeadLetters, pointerOf }, { createKafkaBatchSource }, { configureFetchDecoder }] = await Promise.all([
        import("../kafka/client.ts"),
        import("../kafka/codecs/index.ts"),
        import("../kafka/registry.ts"),
        import("../pipeline/decode.ts"),
        import("../sinks/dead-letters.ts"),
        import("../sources/kafka.ts"),
        import("../kafka/fetch-response.ts"),
      ]);
      const { log } = ctx;
      registerCodecs();
      configureFetchDecoder({
        maxInflatedBytes: config.maxInflatedBytes,
        onRefused: (b, attempt, skipped) =>
          log.warn(skipped ? "record batch refused: sent to the dead-letter topic as a pointer" : "record batch refused: fetching it again", { topic: b.topic, partition: b.partition, offsets: `${b.firstOffset}-${b.lastOffset}`, attempt, reason: b.reason }),
      });
      const fault = CRASH_AT.hook(config.crashAt, log);

      let lastSnapshot = 0;
      const metrics = sinkMetrics(() => lag(), () => lastSnapshot);
      const catalog = catalogOf(config);
      const dataPath = dataPathOf(config);
      const gap = config.queryAccess === "locked" ? lockdownGap(catalog) : undefined;
      if (gap) throw new ConfigError(`--query-access locked: ${gap}`);
      mkdirSync(config.dataDir, { recursive: true });
      const writer = `group ${config.group} member ${crypto.randomUUID()}`;
      // The status page's: Kafka as the group sees it, the lake as its batches commit.
      const dependencies = new Dependencies();
      const kafkaAvailability = new Availability(log);
      const kafkaDep = dependencies.add("kafka", "kafka", config.brokers.join(","));
      const lake = lakeDependencies(dependencies, catalog.description, dataPath.url);
      const registryDep = config.schemaRegistry ? dependencies.add("schema registry", "registry", redactUrlPassword(config.schemaRegistry)) : undefined;
      const events = new SinkEvents();
      const store = await openLakeBatchStore({ dataDir: config.dataDir, catalog, dataPath, writer, owner: `group ${config.group}`, kind: config.kind, memoryLimitMb: config.dbMemory, threads: config.dbThreads, fault, deadLetters: (r) => deadLetters.send(r), onCommitRetry: lake.failed }, log);
      lake.catalog.up(); // attached
      const kafka = createKafka(config, log);
      const deadLetters = await openDeadLetters(kafka, config.produceTimeout, log);
      const decoder = createDecoder(config.kind, registryOf(config));
      // DuckDB's share (--db-memory) plus what the runtime, the binary and a few batches in flight need.
      const governor = memoryGovernor({ softLimitMb: config.dbMemory + 192, everyRecords: 25_000 });
      let written = 0;
      let rejected = 0;
      const started = performance.now();

      async function processBatch(batch: SourceBatch<DecodingBatch>): Promise<void> {
        const t0 = performance.now();
        const finished = batch.content.finish();
        // The store takes batches in the order of these calls; the table commits once the dead
        // letters are acknowledged (offsets never move past a dead letter not yet sent).
        const deadLettersSent = finished.then((d) => deadLetters.send(batch.corrupt.length === 0 ? d.rejected : [...d.rejected, ...batch.corrupt.map(pointerOf)]));
        const stored = store.write(
          finished.then((d) => ({ ...d, ranges: batch.ranges, sequence: batch.sequence })),
          deadLettersSent,
        );
        stored.then(lake.committed, (e: unknown) => e instanceof FencedError || lake.failed(e));
        const [decoded, , { refused, snapshot, ms }] = await Promise.all([finished, deadLettersSent, stored]);
        const seconds = (performance.now() - t0) / 1000;
        for (const r of batch.ranges) metrics.recordsIn.inc({ topic: r.topic, partition: r.partition }, r.records);
        for (const x of [...decoded.rejected, ...batch.corrupt]) metrics.recordsOut.inc({ topic: x.topic, partition: x.partition, to: "dlq" });
        for (const x of refused) metrics.recordsOut.inc({ topic: x.topic, partition: x.partition, to: "dlq" });
        metrics.recordsOut.inc({ to: "lake" }, decoded.rows - refused.length);
        if (snapshot !== undefined) lastSnapshot = snapshot;
        metrics.batchSeconds.observe(seconds);
        written += decoded.rows - refused.length;
        const deadLettered = [...decoded.rejected, ...batch.corrupt.map(pointerOf), ...refused];
        events.batch({ sequence: batch.sequence, ranges: batch.ranges, records: batch.records, rows: decoded.rows - refused.length, rejected: deadLettered.length, bytes: batch.bytes, ms: seconds * 1000, snapshot });
        if (deadLettered.length > 0) events.deadLettered(deadLettered);
        if (registryDep && decoded.rows > 0) registryDep.up();
        rejected += decoded.rejected.length + refused.length;
        log.info("batch written", { batch: batch.sequence, records: batch.records, rows: decoded.rows, rejected: decoded.rejected.length, snapshot, ms: Math.round(seconds * 1000), ...ms, rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20) });
        if (decoded.rejected.length > 0) {
          const first = decoded.rejected[0]!;
          log.warn("records sent to the dead-letter topic", { count: decoded.rejected.length, first: `${first.topic}/${first.partition}@${first.offset}`, reason: first.reason });
        }
      }

      const source = createKafkaBatchSource(kafka, {
        topics: config.topic,
        groupId: config.group,
        policy: batchPolicyOf(config),
        sessionTimeoutMs: config.sessionTimeout,
        availability: kafkaAvailability,
        newContent: () => {
          const batch = decoder.newBatch();
          return { add: (topic, partition, messages) => (governor.note(messages.length), batch.add(topic, partition, messages)), finish: () => batch.finish() };
        },
        untilCaughtUp: config.untilCaughtUp,
        process: processBatch,
        storedOffset: (tp) => store.storedOffset(tp.topic, tp.partition),
        async prepare(assigned) {
          for (const { topic, partitions } of partitionsByTopic(assigned)) await store.recover(topic, partitions);
        },
        onCommitted(batch) {
          fault("after-kafka-commit", batch.sequence);
          if (ctx.isTerminal) {
            const rate = Math.round(written / ((performance.now() - started) / 1000));
            ctx.progress(`ferry sink: ${written} rows, ${rejected} rejected, ${rate}/s, lag ${lag().reduce((s, [, n]) => s + n, 0)}`);
          }
        },
        log,
      });

      function lag(): [Record<string, string | number>, number][] {
        const highs = source.highWatermarks();
        const out: [Record<string, string | number>, number][] = [];
        for (const [k, { tp, next }] of source.positions()) {
          const high = highs.get(k);
          if (high !== undefined) out.push([{ topic: tp.topic, partition: tp.partition }, Math.max(0, high - (next ?? 0))]);
        }
        return out;
      }

      const stopSocket = serveLocal(dataPaths(config.dataDir).socket, servedQueries(store.query, querySettingsOf(config), log), log.warn).stop;
      let server: StatusListener | undefined;
      // The lake's upkeep every --maintain-every, on a connection of its own beside the batches;
      // the catalog's record of runs makes it one member at a time.
      const maintenance = scheduleMaintenance({ everyMs: config.maintainEvery, policy: maintenancePolicyOf(config), member: writer, dataPath, run: store.maintenance }, log);
      const closeAll = async () => {
        await maintenance.stop();
        await source.stop();
        await deadLetters.close();
        await server?.stop();
        stopSocket();
        await store.close();
      };
      try {
        server = startStatusListener(config, {
          registry: metrics.registry,
          collector: sinkCollector({ group: config.group, topics: config.topic, metrics, positions: () => source.positions(), highWatermarks: () => source.highWatermarks() }, events),
          dependencies,
          effectiveConfig: ctx.effectiveConfig,
          log,
        });
        await source.start();
        follow(kafkaDep, kafkaAvailability); // joined: up, then as the group sees it
      } catch (e) {
        await closeAll().catch(() => {});
        throw e;
      }
      log.notice("sink started", { topics: config.topic, group: config.group, kind: config.kind, dataDir: config.dataDir, catalog: catalog.description, lake: dataPath.url, metrics: server?.url });

      const stopReason = await Promise.race([
        new Promise<string>((resolve) => (ctx.signal.aborted ? resolve("signal") : ctx.signal.addEventListener("abort", () => resolve("signal"), { once: true }))),
        source.failed,
        config.untilCaughtUp ? source.caughtUp().then(() => "caught up") : new Promise<string>(() => {}),
      ]).catch(async (e: unknown) => {
        await closeAll().catch(() => {});
        if (e instanceof FencedError) return e;
        log.error("sink failed; the open batch is not committed and is read again on restart", { error: errorMessage(e) });
        throw e;
      });
      if (stopReason instanceof FencedError) {
        // Dropped by the group (paused or slowed past its session or rebalance timeout) while another
        // member took the partition over: the catalog refused this member's batch. It starts over.
        log.warn("this member lost a partition to another member: its batch was not committed (none of it is in the lake); rejoining the group", { topic: stopReason.topic, partition: stopReason.partition, error: stopReason.message });
        return "fenced";
      }
      log.info("stopping", { reason: stopReason });
      await closeAll();
      if (ctx.isTerminal) ctx.progress("");
      log.notice("sink stopped", { reason: stopReason, rows: written, rejected, seconds: Math.round((performance.now() - started) / 100) / 10, memoryCollections: governor.stats.collections, collectionMs: Math.round(governor.stats.ms) });
      return 0;
    };
    for (;;) {
      const ended = await session();
      if (ended !== "fenced") return ended;
      if (ctx.signal.aborted) return 0;
    }
  },
});

function sinkMetrics(lag: () => [Record<string, string | number>, number][], snapshot: () => number) {
  const registry = new Registry();
  return {
    registry,
    recordsIn: registry.add(new Counter("ferry_sink_records_in_total", "Records read from Kafka, by topic and partition.")),
    recordsOut: registry.add(new Counter("ferry_sink_records_out_total", "Records written: to the lake and table (to=lake), or to the dead-letter topic (to=dlq, by source partition).")),
    snapshot: registry.add(new Gauge("ferry_sink_lake_snapshot", "The lake catalog's snapshot of this sink's last committed batch.", snapshot)),
    batchSeconds: registry.add(new Histogram("ferry_sink_batch_seconds", "Time to make a batch durable (decode, dead letters, lake, table).", [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])),
    lag: registry.add(new Gauge("ferry_sink_consumer_lag", "Records behind the end of each assigned partition.", lag)),
  };
}
