/**
 * Kafka record values → validated rows. Each value is plain JSON, or JSON in the Confluent wire
 * format (byte 0, a 4-byte schema id, then the JSON; JSON text never starts with byte 0, so the
 * two cannot be confused). A value that does not decode or validate is rejected with the reason,
 * to be sent to the dead-letter topic; the others become newline-delimited JSON rows for DuckDB.
 */
import type { IHeaders } from "kafkajs";
import * as v from "valibot";
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

/** The Confluent wire format's framing: magic byte 0 and a 4-byte schema id. */
export const CONFLUENT_MAGIC = 0;
export const CONFLUENT_HEADER_BYTES = 5;

/** Fills defaults that depend on the Kafka record (an order without ordered_at: the record's timestamp). */
const completers: Record<RecordKind, (value: Record<string, unknown>, record: SourceRecord) => void> = {
  orders(value, record) {
    if (value.ordered_at === undefined) value.ordered_at = new Date(Number(record.timestamp)).toISOString();
  },
  cars() {},
};

export function createDecoder(kind: RecordKind) {
  const schema = RECORD_KINDS[kind].schema as v.GenericSchema<unknown, Record<string, unknown>>;
  const complete = completers[kind];

  /** Decodes one value: the validated record, or why it is rejected. */
  function decodeValue(record: SourceRecord): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
    const bytes = record.value;
    if (bytes === null) return { ok: false, reason: "value is null (a tombstone), not a record" };
    let text: string;
    if (bytes.length > 0 && bytes[0] === CONFLUENT_MAGIC) {
      if (bytes.length < CONFLUENT_HEADER_BYTES) return { ok: false, reason: "value starts like the Confluent wire format but is shorter than its 5-byte header" };
      text = bytes.toString("utf8", CONFLUENT_HEADER_BYTES);
    } else {
      text = bytes.toString("utf8");
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return { ok: false, reason: `value is not JSON: ${(e as Error).message}` };
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
      add(topic: string, partition: number, messages: readonly SourceRecord[], ingestedAt = new Date()): void {
        const lineage = `,"kafka_topic":${JSON.stringify(topic)},"kafka_partition":${partition},"kafka_offset":`;
        const stamp = `,"ingested_at":${JSON.stringify(ingestedAt.toISOString())}}`;
        for (const m of messages) {
          const d = decodeValue(m);
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

export type Decoder = ReturnType<typeof createDecoder>;
export type DecodingBatch = ReturnType<Decoder["newBatch"]>;
