/**
 * Kafka record values → validated rows. Each value is plain JSON, or JSON in the Confluent wire
 * format (byte 0, a 4-byte schema id, then the JSON; JSON text never starts with byte 0, so the
 * two cannot be confused). With a schema registry, a framed value is also checked against the
 * JSON Schema its id names (fetched once per id). A value that does not decode or validate is rejected with the reason,
 * to be sent to the dead-letter topic; the others become newline-delimited JSON rows for DuckDB.
 */
import type { IHeaders } from "kafkajs";
import * as v from "valibot";
import { errorMessage } from "../errors.ts";
import { CONFLUENT_HEADER_BYTES, CONFLUENT_MAGIC, frameOf, type SchemaCheck, type SchemaRegistry } from "../kafka/registry.ts";
import { RECORD_KINDS, type RecordKind } from "../schema/kinds.ts";
import { formatIssue, toRecordIssues } from "../schema/issues.ts";

export interface SourceRecord {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers?: IHeaders;
}

export interface Rejected {
  topic: string;
  partition: number;
  offset: string;
  record: SourceRecord;
  reason: string;
}

export interface DecodedBatch {
  /** Newline-delimited JSON rows (record fields + kafka_topic, kafka_partition, kafka_offset, ingested_at). */
  rowsNdjson: string;
  rows: number;
  rejected: Rejected[];
}

/** Fills defaults that depend on the Kafka record (an order without ordered_at: the record's timestamp). */
const completers: Record<RecordKind, (value: Record<string, unknown>, record: SourceRecord) => void> = {
  orders(value, record) {
    if (value.ordered_at === undefined) value.ordered_at = new Date(Number(record.timestamp)).toISOString();
  },
  cars() {},
};

/** The check of a schema id, or why there is none (unknown id, registry unreachable). */
type SchemaLookup = (id: number) => SchemaCheck | string;

export function createDecoder(kind: RecordKind, registry?: SchemaRegistry) {
  const schema = RECORD_KINDS[kind].schema as v.GenericSchema<unknown, Record<string, unknown>>;
  const complete = completers[kind];

  /** Decodes one value: the validated record, or why it is rejected. */
  function decodeValue(record: SourceRecord, lookup?: SchemaLookup): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
    const bytes = record.value;
    if (bytes === null) return { ok: false, reason: "value is null (a tombstone), not a record" };
    let text: string;
    let check: SchemaCheck | undefined;
    if (bytes.length > 0 && bytes[0] === CONFLUENT_MAGIC) {
      const frame = frameOf(bytes);
      if (!frame) return { ok: false, reason: `value starts like the Confluent wire format but is shorter than its ${CONFLUENT_HEADER_BYTES}-byte header` };
      text = frame.payload.toString("utf8");
      if (lookup) {
        const found = lookup(frame.id);
        if (typeof found === "string") return { ok: false, reason: found };
        check = found;
      }
    } else {
      text = bytes.toString("utf8");
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return { ok: false, reason: `value is not JSON: ${(e as Error).message}` };
    }
    if (check) {
      const mismatch = check(json);
      if (mismatch) return { ok: false, reason: mismatch };
    }
    if (Array.isArray(json)) return { ok: false, reason: "must be a JSON object, got an array" };
    const result = v.safeParse(schema, json);
    if (!result.success) return { ok: false, reason: toRecordIssues(0, result.issues).map((i) => formatIssue(i).replace(/^record 0(, )?/, "")).join("; ") };
    return { ok: true, value: result.output };
  }

  /** A batch being built: records are decoded as they are added; `ingestedAt` is the time they were added. */
  function newBatch() {
    const parts: string[] = [];
    const rejected: Rejected[] = [];
    return {
      async add(topic: string, partition: number, messages: readonly SourceRecord[], ingestedAt = new Date()): Promise<void> {
        const lookup = registry ? await schemaLookup(registry, messages) : undefined;
        const lineage = `,"kafka_topic":${JSON.stringify(topic)},"kafka_partition":${partition},"kafka_offset":`;
        const stamp = `,"ingested_at":${JSON.stringify(ingestedAt.toISOString())}}`;
        for (const m of messages) {
          const d = decodeValue(m, lookup);
          if (!d.ok) {
            rejected.push({ topic, partition, offset: m.offset, record: m, reason: d.reason });
            continue;
          }
          complete(d.value, m);
          const json = JSON.stringify(d.value);
          parts.push(`${json.slice(0, -1)}${lineage}${m.offset}${stamp}`);
        }
      },
      finish(): DecodedBatch {
        return { rowsNdjson: parts.join("\n"), rows: parts.length, rejected };
      },
    };
  }

  return { decodeValue, newBatch };
}

/** Fetches the schemas of the framed values' ids not seen yet (once each), then answers lookups at once. */
async function schemaLookup(registry: SchemaRegistry, messages: readonly SourceRecord[]): Promise<SchemaLookup> {
  const failed = new Map<number, string>();
  const wanted = new Set<number>();
  for (const m of messages) {
    const frame = m.value ? frameOf(m.value) : undefined;
    if (frame && !registry.cached(frame.id)) wanted.add(frame.id);
  }
  await Promise.all(
    [...wanted].map((id) =>
      registry.check(id).catch((e: unknown) => {
        failed.set(id, `schema id ${id}: ${errorMessage(e)}`);
      }),
    ),
  );
  return (id) => registry.cached(id) ?? failed.get(id) ?? `schema id ${id} is unknown`;
}

export type Decoder = ReturnType<typeof createDecoder>;
export type DecodingBatch = ReturnType<Decoder["newBatch"]>;
