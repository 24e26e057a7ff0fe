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
import { compileBytesCheck, compileFastCheck, lackingAt } from "../schema/fast-check.ts";
import type { LineageSegment } from "./lineage.ts";
import { formatIssue, type RecordIssue, toRecordIssues } from "../schema/issues.ts";
import { DUPLICATE_MESSAGE, inexactMessage, parseExactJson } from "../schema/json-text.ts";
import { decodeUtf8 } from "../schema/utf8.ts";

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
  /**
   * Newline-delimited JSON rows, in chunks: a record's fields plus "_s", its lineage segment
   * (topic, partition, time received: `segments`), and "_o", its offset. A valid value's own
   * bytes are copied, not re-encoded (see objectEnd).
   */
  ndjson: Buffer[];
  segments: LineageSegment[];
  rows: number;
  rejected: Rejected[];
  /**
   * The records of the rows that were parsed and checked in full (escapes, non-ASCII text, numbers
   * with exponents…: the ones a store might still refuse), until the rows are in the database (then
   * emptied): such a row the database refuses goes to the dead-letter topic as its record was
   * (recordsOf). Rows checked as their bytes keep nothing (no memory held on the good path).
   */
  sources: SourceRun[];
}

/** Records of one topic partition as fetched, in offset order. */
export interface SourceRun {
  topic: string;
  partition: number;
  messages: readonly SourceRecord[];
}

/** A lookup of the records among `runs` by topic, partition and offset (built once, when rows were refused). */
export function recordsOf(runs: readonly SourceRun[]): (topic: string, partition: number, offset: string) => SourceRecord | undefined {
  const byKey = new Map<string, SourceRecord>();
  for (const r of runs) for (const m of r.messages) byKey.set(`${r.topic}\0${r.partition}\0${m.offset}`, m);
  return (topic, partition, offset) => byKey.get(`${topic}\0${partition}\0${offset}`);
}

/**
 * Defaults that depend on the Kafka record (an order without ordered_at: the record's timestamp,
 * or when it has none (-1), the time ferry received it): the fields a value may lack, and their
 * values for a record. A filled value passes the same checks as one sent.
 */
const completers: Record<RecordKind, { fills: readonly string[]; filled: (record: SourceRecord, receivedAt: Date) => Record<string, unknown> }> = {
  orders: {
    fills: ["ordered_at"],
    filled(record, receivedAt) {
      const ms = Number(record.timestamp);
      const at = ms === -1 ? receivedAt : new Date(ms);
      // A time no Date holds (a producer may send any 64-bit timestamp) is left as text for the checks to refuse.
      return { ordered_at: Number.isNaN(at.getTime()) ? String(record.timestamp) : at.toISOString() };
    },
  },
  cars: { fills: [], filled: () => ({}) },
};

/** A record's issue without its index ("field price: must …"): a dead letter is one record. */
const fieldReason = (i: RecordIssue) => formatIssue(i).replace(/^record 0(, )?/, "");

/** The check of a schema id, or why there is none (unknown id, registry unreachable). */
type SchemaLookup = (id: number) => SchemaCheck | string;

export function createDecoder(kind: RecordKind, registry?: SchemaRegistry) {
  const schema = RECORD_KINDS[kind].schema as v.GenericSchema<unknown, Record<string, unknown>>;
  const { filled, fills } = completers[kind];
  // Most records pass the compiled checks; JSON.parse and valibot run for the others (and say why).
  const accepts = compileFastCheck(schema) ?? (() => false);
  // A record's JSON bytes checked as they are (no JSON.parse, no object): where they can be cut, or -1.
  const acceptsBytes = compileBytesCheck(schema, fills) ?? (() => -1);
  const entries = (schema as unknown as { entries: Record<string, v.GenericSchema> }).entries;
  const fillChecks = fills.map((f) => [f, compileFastCheck(entries[f]!) ?? (() => false)] as const);

  /** The members a record fills into a value that lacks them, as JSON text (",\"ordered_at\":\"…\""), if they pass their checks. */
  function filledText(record: SourceRecord, receivedAt: Date): string | undefined {
    const values = filled(record, receivedAt);
    let text = "";
    for (const [f, check] of fillChecks) {
      if (!check(values[f])) return undefined;
      text += `,${JSON.stringify(f)}:${JSON.stringify(values[f])}`;
    }
    return text;
  }

  /**
   * Decodes one value: the validated record and the bytes of its JSON text (without a Confluent
   * header), or why it is rejected.
   */
  function decodeValue(record: SourceRecord, lookup?: SchemaLookup): { ok: true; value: Record<string, unknown>; json: Buffer } | { ok: false; reason: string } {
    const bytes = record.value;
    if (bytes === null) return { ok: false, reason: "value is null (a tombstone), not a record" };
    let json = bytes;
    let check: SchemaCheck | undefined;
    if (bytes.length > 0 && bytes[0] === CONFLUENT_MAGIC) {
      const frame = frameOf(bytes);
      if (!frame) return { ok: false, reason: `value starts like the Confluent wire format but is shorter than its ${CONFLUENT_HEADER_BYTES}-byte header` };
      json = frame.payload;
      if (lookup) {
        const found = lookup(frame.id);
        if (typeof found === "string") return { ok: false, reason: found };
        check = found;
      }
    }
    const text = decodeUtf8(json);
    if (!text.ok) return { ok: false, reason: `value is not valid UTF-8: invalid byte sequence at byte ${text.offset}` };
    let parsed: unknown;
    try {
      const exact = parseExactJson(text.text);
      const n = exact.inexact[0];
      if (n) return { ok: false, reason: fieldReason({ index: 0, path: n.path.join("."), message: inexactMessage(n) }) };
      const twice = exact.duplicates[0];
      if (twice) return { ok: false, reason: fieldReason({ index: 0, path: twice.path.join("."), message: DUPLICATE_MESSAGE }) };
      parsed = exact.value;
    } catch (e) {
      return { ok: false, reason: `value is not JSON: ${(e as Error).message}` };
    }
    if (check) {
      const mismatch = check(parsed);
      if (mismatch) return { ok: false, reason: mismatch };
    }
    if (accepts(parsed)) return { ok: true, value: parsed as Record<string, unknown>, json };
    if (Array.isArray(parsed)) return { ok: false, reason: "must be a JSON object, got an array" };
    const result = v.safeParse(schema, parsed);
    if (!result.success) return { ok: false, reason: toRecordIssues(0, result.issues).map(fieldReason).join("; ") };
    return { ok: true, value: result.output, json };
  }

  /**
   * Decodes a run of records of one lineage segment into `out` (rows tagged "_s": segment,
   * "_o": offset); a record that does not decode or validate goes to `reject` with its index.
   * Returns the number of rows written.
   */
  function decodeRun(out: RowBytes, segment: number, receivedAt: Date, messages: readonly SourceRecord[], reject: (index: number, reason: string) => void, keep: (record: SourceRecord) => void, lookup?: SchemaLookup): number {
    const lineage = Buffer.from(`,"_s":${segment},"_o":`);
    let rows = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      // A value whose bytes pass the bytes check is copied as it is (JSON.parse and the checks would
      // find it valid and unchanged); any other is decoded and checked in full.
      const value = m.value;
      const plain = value === null ? null : value.length > 0 && value[0] === CONFLUENT_MAGIC ? (lookup ? null : frameOf(value)?.payload) : value;
      let json = plain;
      let cut = plain ? acceptsBytes(plain) : -1;
      // Valid but for the fields the record fills in (an order without ordered_at): its bytes, then those members.
      let fill = "";
      if (cut < -1) {
        const text = filledText(m, receivedAt);
        if (text === undefined) cut = -1;
        else [cut, fill] = [lackingAt(cut), text];
      }
      if (cut <= 0) {
        const d = decodeValue(m, lookup);
        if (!d.ok) {
          reject(i, d.reason);
          continue;
        }
        json = d.json;
        keep(m);
        const lacking = fills.some((f) => d.value[f] === undefined);
        if (lacking) {
          const values = filled(m, receivedAt);
          for (const f of fills) d.value[f] ??= values[f];
          if (!accepts(d.value)) {
            // The filled fields pass the same checks as sent ones (the compiled check; valibot only to say why).
            const again = v.safeParse(schema, d.value);
            if (!again.success) {
              reject(i, `${toRecordIssues(0, again.issues).map(fieldReason).join("; ")} (filled in from the Kafka record: its timestamp is ${m.timestamp})`);
              continue;
            }
          }
        }
        cut = lacking ? -1 : objectEnd(d.json);
        if (cut <= 0) out.text(JSON.stringify(d.value).slice(0, -1));
      }
      if (cut > 0) out.bytes(json!, cut);
      if (fill !== "") out.text(fill);
      out.bytes(lineage, lineage.length);
      out.ascii(m.offset);
      out.bytes(ROW_END, ROW_END.length);
      rows++;
    }
    return rows;
  }

  /** A batch being built on this thread: records are decoded as they are added; `ingestedAt` is the time they were added. */
  function newBatch(): DecodingBatch {
    const out = rowBytes();
    const rejected: Rejected[] = [];
    const segments = segmentTable();
    const sources: SourceRun[] = [];
    let rows = 0;
    return {
      async add(topic: string, partition: number, messages: readonly SourceRecord[], ingestedAt = new Date()): Promise<void> {
        const lookup = registry ? await schemaLookup(registry, messages) : undefined;
        const segment = segments.idOf(topic, partition, ingestedAt);
        const kept: SourceRecord[] = [];
        const reject = (i: number, reason: string) => rejected.push({ topic, partition, offset: messages[i]!.offset, record: messages[i]!, reason });
        rows += decodeRun(out, segment, ingestedAt, messages, reject, (m) => kept.push(m), lookup);
        if (kept.length > 0) sources.push({ topic, partition, messages: kept });
      },
      async finish(): Promise<DecodedBatch> {
        return { ndjson: out.chunks(), segments: segments.list, rows, rejected, sources };
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

/**
 * Where a valid value's JSON text can be cut to append the lineage fields: the index of its closing
 * brace, when the text holds no line break (NDJSON keeps one row per line); -1 otherwise, and the
 * value is written re-encoded. The text as sent is what DuckDB reads, so a row means exactly what
 * the checked value meant — except for a key given twice, where JSON.parse keeps the last and
 * DuckDB refuses the line: normalizeRows re-encodes such a batch (see src/lake/batch-store.ts).
 */
function objectEnd(json: Buffer): number {
  let end = json.length - 1;
  while (end > 0 && (json[end] === 0x20 || json[end] === 0x09 || json[end] === 0x0d || json[end] === 0x0a)) end--;
  if (json[end] !== 0x7d || json.indexOf(0x0a) !== -1) return -1;
  return end;
}

const ROW_END = Buffer.from("}\n");
const CHUNK = 1 << 20;

/** The lineage segments of a batch, each once: their index is a row's "_s". */
function segmentTable() {
  const list: LineageSegment[] = [];
  const ids = new Map<string, number>();
  return {
    list,
    idOf(topic: string, partition: number, ingestedAt: Date): number {
      const segment = { topic, partition, ingestedAt: ingestedAt.toISOString() };
      const key = JSON.stringify(segment);
      let id = ids.get(key);
      if (id === undefined) {
        id = list.push(segment) - 1;
        ids.set(key, id);
      }
      return id;
    },
  };
}

type RowBytes = ReturnType<typeof rowBytes>;

/** NDJSON rows written into 1 MiB chunks (no string per row, no join). */
function rowBytes() {
  const full: Buffer[] = [];
  let chunk = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  const room = (n: number) => {
    if (used + n <= chunk.length) return;
    full.push(chunk.subarray(0, used));
    chunk = Buffer.allocUnsafe(Math.max(CHUNK, n));
    used = 0;
  };
  return {
    /** The first `end` bytes of `src` (all of it is copied, the rest overwritten next: set() costs far less per call than copy()). */
    bytes(src: Buffer, end: number) {
      room(src.length);
      chunk.set(src, used);
      used += end;
    },
    /** A string of ASCII characters (an offset's digits). */
    ascii(s: string) {
      room(s.length);
      for (let i = 0; i < s.length; i++) chunk[used++] = s.charCodeAt(i);
    },
    text(s: string) {
      room(s.length * 3);
      used += chunk.write(s, used, "utf8");
    },
    chunks: () => (used > 0 ? [...full, chunk.subarray(0, used)] : full),
  };
}

/** The rows re-encoded by JSON.parse/stringify, line by line (duplicate keys: the last one, as checked). */
export function normalizeRows(ndjson: Buffer[]): Buffer[] {
  const text = Buffer.concat(ndjson).toString("utf8");
  return [Buffer.from(text.split("\n").map((line) => (line === "" ? line : JSON.stringify(JSON.parse(line)))).join("\n"))];
}

export type Decoder = ReturnType<typeof createDecoder>;

/** A batch being decoded: records added as they are fetched, the rows and rejections at the end. */
export interface DecodingBatch {
  add(topic: string, partition: number, messages: readonly SourceRecord[], ingestedAt?: Date): Promise<void>;
  finish(): Promise<DecodedBatch>;
}
