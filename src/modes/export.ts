/** `ferry export`: a Cassandra table into a Kafka topic, token ranges in parallel, resumable. */
import { secretOf } from "../config/files.ts";
import * as v from "valibot";
import { CONSISTENCY_NAMES } from "../cassandra/consistency.ts";
import { logLevelField } from "../config/common.ts";
import { int, list, oneOf, str } from "../config/fields.ts";
import { FerryError } from "../errors.ts";
import { compressionField, kafkaClientFields, produceTimeoutField, registryProducerFields } from "../kafka/config.ts";
import { startRateClock } from "../pipeline/rate-clock.ts";
import { openRangeCheckpoint } from "../sources/range-checkpoint.ts";
import { redactUrlPassword } from "../log/redact.ts";
import { exportCollector, exportMetrics, type ExportProgress } from "../status/collectors/export.ts";
import { Dependencies } from "../status/dependencies.ts";
import { startStatusListener, statusListenerFields, type StatusListener } from "../status/listener.ts";
import { defineMode } from "./mode.ts";

export const exportMode = defineMode({
  name: "export",
  summary: "Copy a Cassandra table into a Kafka topic (parallel token ranges)",
  details:
    "The token ring is cut into --splits ranges, read --parallel at a time, each page by page. Each row\n" +
    "becomes one message: key = the partition-key columns (one column: its value; several: a JSON\n" +
    "array), value = the row as JSON (every CQL type, exactly: bigint as a JSON integer with all its\n" +
    "digits, varint and decimal as strings, timestamps RFC 3339 with ms, blobs base64, durations ISO 8601).\n" +
    "--checkpoint FILE records each range once all its rows are acknowledged by Kafka; run again with\n" +
    "the same file after a crash or Ctrl-C and finished ranges are not sent again. Rows of a range\n" +
    "that was in flight when the export stopped are sent again (at-least-once for those rows).\n" +
    "Delivery: at-least-once. Every row counted as exported is in Kafka, across broker crashes and\n" +
    "restarts (ferry's idempotent producer); a lost connection can make a row appear twice, never zero times.\n" +
    "--schema-registry: the JSON Schema derived from the table's columns is registered as <topic>-value\n" +
    "and every value framed with its id (Confluent wire format).",
  config: v.object({
    cassandra: list({ doc: "Cassandra contact points.", placeholder: "HOST[:PORT]", min: 1 }),
    keyspace: str({ doc: "Keyspace of the table.", placeholder: "NAME", min: 1 }),
    table: str({ doc: "Table to export.", placeholder: "NAME", min: 1 }),
    columns: v.optional(list({ doc: "Columns in each value (default: all).", placeholder: "NAME" })),
    username: v.optional(str({ doc: "Cassandra user (PasswordAuthenticator).", placeholder: "USER", min: 1 })),
    password: v.optional(str({ doc: "Cassandra password. A flag shows in /proc to every local user: prefer FERRY_PASSWORD or --password-file.", placeholder: "PASSWORD", secret: true })),
    passwordFile: v.optional(str({ doc: "File holding the Cassandra password (one line; a trailing newline is ignored).", placeholder: "FILE", min: 1 })),
    localDc: v.optional(str({ doc: "Local data center (default: every host counts as local).", placeholder: "DC", min: 1 })),
    consistency: v.optional(oneOf(CONSISTENCY_NAMES, { doc: "Read consistency." }), "LOCAL_ONE"),
    ...kafkaClientFields,
    ...produceTimeoutField,
    ...compressionField,
    topic: str({ doc: "Topic to produce to.", placeholder: "TOPIC", min: 1 }),
    partitions: v.optional(int({ doc: "Partitions of the topic when ferry creates it.", min: 1 }), 6),
    parallel: v.optional(int({ doc: "Token ranges read at once.", min: 1, max: 256 }), 4),
    splits: v.optional(int({ doc: "Token ranges the ring is cut into (at least --parallel).", min: 1, max: 1_000_000 }), 64),
    pageSize: v.optional(int({ doc: "Rows per page.", min: 1 }), 5000),
    checkpoint: v.optional(str({ doc: "File of finished token ranges, to resume an export.", placeholder: "FILE", min: 1 })),
    ...registryProducerFields,
    ...statusListenerFields,
    ...logLevelField,
  }),
  async run(config, ctx) {
    const [{ connectCassandra, describeTable }, { createTableScan }, { createKafka }, { registryOf }, { kafkaTarget }] = await Promise.all([
      import("../cassandra/client.ts"),
      import("../sources/cassandra.ts"),
      import("../kafka/client.ts"),
      import("../kafka/registry.ts"),
      import("../sinks/record-targets.ts"),
    ]);
    const { log } = ctx;
    const splits = Math.max(config.splits, config.parallel);
    let listener: StatusListener | undefined;
    const cassandra = await connectCassandra(
      { contactPoints: config.cassandra, username: config.username, password: secretOf(config.password, config.passwordFile, "password"), localDc: config.localDc, consistency: config.consistency },
      log,
    );
    try {
      const info = await describeTable(cassandra, config.keyspace, config.table);
      const scan = createTableScan(cassandra, info, { columns: config.columns, pageSize: config.pageSize, splits });
      const checkpoint = await openRangeCheckpoint(config.checkpoint, {
        keyspace: info.keyspace,
        table: info.table,
        topic: config.topic,
        splits,
        columns: scan.columns.map((c) => c.name),
      });
      const todo = scan.ranges.filter((r) => !checkpoint.done.has(r.index));
      if (todo.length === 0) {
        log.notice("nothing to export: the checkpoint has every range done", { checkpoint: config.checkpoint, ranges: splits });
        return 0;
      }
      if (checkpoint.done.size > 0) log.notice("resuming from checkpoint", { checkpoint: config.checkpoint, done: checkpoint.done.size, ranges: splits });

      // The status page's (--metrics-port): the same counters as /metrics, the ranges, the servers.
      const state: ExportProgress = {
        source: `${info.keyspace}.${info.table}`,
        topic: config.topic,
        total: splits,
        done: checkpoint.done.size,
        inFlight: 0,
        checkpoint: config.checkpoint ? { file: config.checkpoint, doneAtStart: checkpoint.done.size, savedAt: undefined } : undefined,
        state: "running",
      };
      const metrics = exportMetrics(state);
      const dependencies = new Dependencies();
      const cassandraDep = dependencies.add("cassandra", "cassandra", config.cassandra.join(","));
      cassandraDep.up(); // connected, the table described
      const kafkaDep = dependencies.add("kafka", "kafka", config.brokers.join(","));
      const registryDep = config.schemaRegistry ? dependencies.add("schema registry", "registry", redactUrlPassword(config.schemaRegistry)) : undefined;
      listener = startStatusListener(config, { registry: metrics.registry, collector: exportCollector(metrics, state), dependencies, effectiveConfig: ctx.effectiveConfig, log });
      if (listener) log.notice("status page", { url: listener.url });

      const target = await kafkaTarget(
        createKafka(config, log),
        {
          topic: config.topic,
          partitions: config.partitions,
          produceTimeoutMs: config.produceTimeout,
          compression: config.compression,
          registry: registryOf(config),
          valueSchema: scan.valueSchema,
        },
        log,
      ).catch((e: unknown) => {
        kafkaDep.down(e);
        throw e;
      });
      kafkaDep.up();
      registryDep?.up(); // the value schema is registered (or found)
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      let rows = 0;
      let failure: unknown;
      /** Errors of Kafka's (a send), told apart from Cassandra's (a page). */
      const sendErrors = new WeakSet<object>();
      const clock = startRateClock();
      const progress = setInterval(() => {
        ctx.progress(`ferry export: ${rows} rows, ${clock.perSecond(rows)}/s, ranges ${state.done}/${splits} → ${config.topic}`);
      }, 500);
      const queue = [...todo];
      const worker = async () => {
        for (let range = queue.shift(); range && !stop.signal.aborted; range = queue.shift()) {
          state.inFlight++;
          const finished = await scan
            .scanRange(
              range,
              async (records) => {
                cassandraDep.up();
                metrics.rowsRead.inc({}, records.length);
                try {
                  await target.send(records);
                } catch (e) {
                  if (e !== null && typeof e === "object") sendErrors.add(e);
                  kafkaDep.down(e);
                  throw e;
                }
                kafkaDep.up();
                metrics.rowsSent.inc({}, records.length);
                rows += records.length;
              },
              stop.signal,
            )
            .catch((e: unknown) => {
              if (!(e !== null && typeof e === "object" && sendErrors.has(e))) cassandraDep.down(e);
              throw e;
            })
            .finally(() => state.inFlight--);
          if (!finished) return;
          await checkpoint.markDone(range.index);
          if (state.checkpoint) state.checkpoint.savedAt = Date.now();
          state.done++;
          log.debug("range done", { range: range.index, rangesDone: state.done });
        }
      };
      try {
        await Promise.all(
          Array.from({ length: Math.min(config.parallel, todo.length) }, () =>
            worker().catch((e) => {
              failure ??= e;
              stop.abort();
            }),
          ),
        );
      } finally {
        clearInterval(progress);
        ctx.progress("");
        ctx.signal.removeEventListener("abort", onAbort);
        await target.close();
      }
      const rangesDone = state.done;
      state.state = failure ? "failed" : rangesDone < splits ? "interrupted" : "finished";
      const summary = { rows, rangesDone, ranges: splits, ...clock.figures(rows), topic: config.topic };
      if (failure) {
        log.error("export failed", summary);
        throw failure;
      }
      if (rangesDone < splits) {
        log.notice("export interrupted", summary);
        throw new FerryError(
          `export interrupted after ${rangesDone} of ${splits} token ranges` +
            (config.checkpoint ? `; run again with --checkpoint ${config.checkpoint} to resume` : " (no --checkpoint: a new run starts over)"),
        );
      }
      log.notice("exported", summary);
      return 0;
    } finally {
      await listener?.stop();
      await cassandra.shutdown().catch(() => {});
    }
  },
});
