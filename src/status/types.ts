/**
 * The status snapshot: what `GET /status.json` answers and `GET /status/events` sends once a
 * second, what the page (src/status/page.ts) and `ferry top` (src/status/terminal.ts) show. One
 * valibot schema: the TypeScript type and the OpenAPI/JSON Schema derive from it.
 *
 * A snapshot has common parts (version, mode, uptime, the effective configuration without its
 * secrets, totals, a per-second history of records in and out, the dependencies and warnings) and
 * one section per mode that has one (`run`, `serve`, `sink`, `export`, `generate`); a mode's
 * section is present exactly when `mode` names it.
 *
 * Conventions: names are snake_case; times are RFC 3339 UTC strings (`…Z`), except the history's
 * `t` (Unix seconds, compact); durations in milliseconds (`_ms`) or seconds (`_s`); sizes in bytes;
 * a value that cannot be known is null, never a made-up 0.
 */
import * as v from "valibot";

const COUNT = v.pipe(v.number(), v.integer(), v.minValue(0));
const TIME = v.pipe(v.string(), v.isoTimestamp());
const count = (doc?: string) => (doc ? v.pipe(COUNT, v.description(doc)) : COUNT);
const time = (doc?: string) => (doc ? v.pipe(TIME, v.description(doc)) : TIME);
const text = (doc: string) => v.pipe(v.string(), v.description(doc));
const nullable = <S extends v.GenericSchema>(schema: S, doc: string) => v.pipe(v.nullable(schema), v.description(doc));

/** The modes that have a status (every mode with an HTTP listener). */
export const STATUS_MODES = ["run", "serve", "sink", "export", "generate"] as const;
export type StatusMode = (typeof STATUS_MODES)[number];

export const DEPENDENCY_KINDS = ["kafka", "registry", "catalog", "storage", "cassandra", "ingress"] as const;
export const DEPENDENCY_STATES = ["up", "down", "unknown"] as const;

export const DependencySchema = v.object({
  name: text("What it is, for people: e.g. \"kafka\", \"schema registry\", \"catalog\", \"lake storage\", \"cassandra\"."),
  kind: v.pipe(v.picklist(DEPENDENCY_KINDS), v.description("What sort of server it is.")),
  target: nullable(v.string(), "Where it is (brokers, a host, a URL without credentials), or null."),
  state: v.pipe(v.picklist(DEPENDENCY_STATES), v.description("up: answered lately; down: failing since `since`; unknown: not tried yet.")),
  since: nullable(time(), "When it entered this state (null while unknown)."),
  last_error: nullable(v.string(), "The last error it gave, on one line (kept after it is up again), or null."),
});
export type Dependency = v.InferOutput<typeof DependencySchema>;

export const WarningSchema = v.object({
  code: text("A stable name, e.g. \"open-beyond-loopback\", \"dependency-down\"."),
  message: text("One line for people."),
});
export type StatusWarning = v.InferOutput<typeof WarningSchema>;

export const RateSampleSchema = v.object({
  t: count("The second (Unix time) the sample covers."),
  in: count("Records in during that second."),
  out: count("Records out during that second."),
});
export type RateSample = v.InferOutput<typeof RateSampleSchema>;

export const TotalsSchema = v.object({
  in: count("Records in since start: run/serve: records received in requests; sink: read from Kafka; export: rows read from Cassandra; generate: records made."),
  out: count("Records out since start: run/serve: acknowledged (durable); sink: written to the lake or the dead-letter topic; export/generate: acknowledged by the target."),
  rejected: count("Records refused since start: invalid (4xx) or sent to the dead-letter topic."),
});

// ─── run / serve ────────────────────────────────────────────────────────────────────────────────

export const AnswerCountSchema = v.object({
  status: count("HTTP status of the answer."),
  count: count("Requests answered so."),
});

export const RefusalSchema = v.object({
  status: count("HTTP status (400, 401, 413, 415, 422, 429, 503)."),
  reason: text("Why, short: e.g. \"malformed JSON\", \"body too large\", or a field's rule (\"must not be negative\")."),
  field: nullable(v.string(), "The record's field (dotted path) for 422, else null."),
  count: count("Occurrences: 422 counts each record once per field and reason; other answers count requests."),
});

export const IngressSchema = v.object({
  requests: v.pipe(v.array(AnswerCountSchema), v.description("POST /orders requests by answer, most frequent first.")),
  refusals: v.pipe(v.array(RefusalSchema), v.description("Refused requests and records by status, reason and field, most frequent first (bounded).")),
  in_flight: count("Records accepted for writing but not yet durable."),
  max_in_flight: count("The bound on in_flight (429 above it)."),
  queued: nullable(count(), "Of in_flight, records waiting for a write batch (not yet being written), or null."),
  draining: v.pipe(v.boolean(), v.description("Shutting down: new orders get 503.")),
  write_latency_ms: nullable(
    v.object({ p50: v.number(), p99: v.number() }),
    "Time from a batch closing to its records being durable, over the whole run (bucket bounds), or null before the first write.",
  ),
});

export const RollupSchema = v.object({
  at: time("When it ended."),
  rows: count("Rows rolled into the lake."),
  ms: count("How long it took."),
  error: nullable(v.string(), "Why it failed (one line), or null."),
});

export const RunSectionSchema = v.object({
  ingress: IngressSchema,
  wal_bytes: nullable(count(), "Size of the write-ahead log (ferry.wal), or null if unknown."),
  db_bytes: nullable(count(), "Size of ferry.duckdb plus the catalog file when it is a local file, or null."),
  journal_rows: count("Rows acknowledged and not yet rolled into the lake."),
  rollups: v.pipe(v.array(RollupSchema), v.description("The last rollups, newest first.")),
});

export const ServeSectionSchema = v.object({
  ingress: IngressSchema,
  topic: text("Topic the orders go to."),
});

// ─── sink ───────────────────────────────────────────────────────────────────────────────────────

export const PartitionLagSchema = v.object({
  topic: v.string(),
  partition: count("Partition number."),
  next_offset: nullable(count(), "Next offset after the last committed batch (null: from the earliest)."),
  high_watermark: nullable(count(), "End of the partition as last seen, or null."),
  lag: nullable(count(), "Records behind the end (high_watermark - next_offset), or null when the end is not known yet."),
});

export const BatchRangeSchema = v.object({
  topic: v.string(),
  partition: count(),
  first_offset: count(),
  last_offset: count(),
  records: count("Records fetched in the range."),
});

export const BatchSchema = v.object({
  sequence: count("1, 2, 3… in this process."),
  at: time("When it committed."),
  ranges: v.array(BatchRangeSchema),
  records: count("Records fetched."),
  rows: count("Rows added to the lake."),
  rejected: count("Records sent to the dead-letter topic."),
  bytes: count("Bytes of the records fetched."),
  files: nullable(count(), "Parquet files the batch wrote (0: inlined in the catalog), or null if unknown."),
  ms: count("Time to make it durable (decode, dead letters, lake, table)."),
  snapshot: nullable(count(), "The catalog's snapshot after it, or null."),
});

export const DeadLetterSummarySchema = v.object({
  at: time("When it was sent."),
  topic: v.string(),
  partition: count(),
  offset: text("Source offset (a string: Kafka offsets are 64-bit)."),
  reason: text("Why, cut to one line."),
});

export const SinkSectionSchema = v.object({
  group: text("Consumer group."),
  topics: v.array(v.string()),
  lag: v.pipe(v.array(PartitionLagSchema), v.description("Assigned partitions, by topic and partition.")),
  batches: v.pipe(v.array(BatchSchema), v.description("The last batches, newest first.")),
  dead_letters: v.object({
    count: count("Records sent to the dead-letter topic since start."),
    last: v.pipe(v.array(DeadLetterSummarySchema), v.description("The last ones, newest first.")),
  }),
  snapshot: nullable(count(), "The catalog's snapshot of the last committed batch, or null."),
});

// ─── export ─────────────────────────────────────────────────────────────────────────────────────

export const ExportSectionSchema = v.object({
  source: text("keyspace.table"),
  topic: v.string(),
  ranges: v.object({
    done: count("Token ranges finished (every row acknowledged), including those of the checkpoint."),
    total: count("Token ranges of the export (--splits)."),
    in_flight: count("Ranges being read now."),
  }),
  rows: count("Rows acknowledged by Kafka in this run."),
  checkpoint: nullable(
    v.object({ file: v.string(), done_at_start: count("Ranges the checkpoint had when the run started."), saved_at: nullable(time(), "Its last write, or null.") }),
    "The --checkpoint file, or null without one.",
  ),
  state: v.pipe(v.picklist(["running", "finished", "interrupted", "failed"]), v.description("Where the export is.")),
});

// ─── generate ───────────────────────────────────────────────────────────────────────────────────

export const GenerateSectionSchema = v.object({
  target: text("Where the records go (topic, URL or table)."),
  sent: count("Records made and handed to the target."),
  accepted: count("Records the target acknowledged."),
  refused: count("Records the target refused."),
  in_flight: count("Records sent and not answered yet."),
  rate_limit: nullable(v.number(), "--rate (records per second), or null: as fast as possible."),
  count_limit: nullable(count(), "--count, or null: endless."),
  state: v.pipe(v.picklist(["running", "finished", "failed"]), v.description("Where the run is.")),
});

// ─── the snapshot ───────────────────────────────────────────────────────────────────────────────

/** Any JSON value (the configuration's values). */
const JsonValueSchema = v.pipe(v.unknown(), v.description("A JSON value."));

export const StatusSnapshotSchema = v.pipe(
  v.object({
    version: text("ferry's version."),
    mode: v.pipe(v.picklist(STATUS_MODES), v.description("The mode this process runs.")),
    now: time("When this snapshot was taken."),
    started_at: time("When the process started."),
    uptime_s: v.pipe(v.number(), v.minValue(0), v.description("Seconds since start.")),
    rss_bytes: count("The process's resident memory."),
    config: v.pipe(
      v.record(v.string(), JsonValueSchema),
      v.description("The effective configuration (after flags, FERRY_* env, config file, defaults), by option name in camelCase; a secret's value is replaced by \"(secret)\"."),
    ),
    totals: TotalsSchema,
    rates: v.object({
      interval_s: v.pipe(v.literal(1), v.description("Seconds per sample.")),
      samples: v.pipe(v.array(RateSampleSchema), v.maxLength(300), v.description("The last few minutes, oldest first, one per second (the current, unfinished second excluded).")),
    }),
    dependencies: v.array(DependencySchema),
    warnings: v.array(WarningSchema),
    run: v.optional(RunSectionSchema),
    serve: v.optional(ServeSectionSchema),
    sink: v.optional(SinkSectionSchema),
    export: v.optional(ExportSectionSchema),
    generate: v.optional(GenerateSectionSchema),
  }),
  v.check((s) => STATUS_MODES.every((m) => (s[m] !== undefined) === (s.mode === m)), "exactly the section of `mode` is present"),
  v.description("What one ferry process is doing: GET /status.json, and each event of GET /status/events."),
);

export type StatusSnapshot = v.InferOutput<typeof StatusSnapshotSchema>;
export type IngressStatus = v.InferOutput<typeof IngressSchema>;
export type RunStatus = v.InferOutput<typeof RunSectionSchema>;
export type ServeStatus = v.InferOutput<typeof ServeSectionSchema>;
export type SinkStatus = v.InferOutput<typeof SinkSectionSchema>;
export type ExportStatus = v.InferOutput<typeof ExportSectionSchema>;
export type GenerateStatus = v.InferOutput<typeof GenerateSectionSchema>;
export type BatchStatus = v.InferOutput<typeof BatchSchema>;
export type PartitionLag = v.InferOutput<typeof PartitionLagSchema>;
export type RollupStatus = v.InferOutput<typeof RollupSchema>;
