/**
 * Reads a POST body into records: one JSON object, a JSON array, or NDJSON. Enforces the body
 * limit before buffering (Content-Length) and while streaming (chunked bodies), refuses bytes
 * that are not UTF-8 (naming the offset), and says where malformed JSON breaks.
 */
import { HttpError } from "./http-error.ts";
import { findJsonBreak } from "./json-error.ts";
import { decodeUtf8 } from "../schema/utf8.ts";
import { DUPLICATE_MESSAGE, inexactMessage, type ParsedJson, parseExactJson } from "../schema/json-text.ts";
import type { RecordIssue } from "../schema/issues.ts";

export type BodyFormat = "json" | "ndjson";

const FORMATS: Record<string, BodyFormat> = {
  "application/json": "json",
  "application/x-ndjson": "ndjson",
  "application/ndjson": "ndjson",
  "application/jsonl": "ndjson",
  "application/jsonlines": "ndjson",
};
export const ACCEPTED_CONTENT_TYPES = Object.keys(FORMATS);

export function bodyFormat(contentType: string | null): BodyFormat {
  const mime = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const format = FORMATS[mime];
  if (!format) {
    throw new HttpError(415, { error: `unsupported content type ${JSON.stringify(mime || "(none)")}; send ${ACCEPTED_CONTENT_TYPES.slice(0, 2).join(" or ")}` });
  }
  return format;
}

/**
 * How much of a body over the limit is still read (and thrown away) before the 413: clients that
 * send their whole body before reading the answer (Python's http.client, requests, curl without
 * Expect) get to read the 413 instead of a broken pipe. Beyond it the connection is closed.
 * (Why not Hono's bodyLimit middleware: it answers 413 on the Content-Length alone without
 * reading the body, which is that broken pipe, measured with http.client against a 2 MB body;
 * and it copies every accepted body once more into a new Request.)
 */
export const DRAIN_BYTES = 16 * 1024 * 1024;

const tooLarge = (limit: number) => new HttpError(413, { error: `request body is larger than the limit of ${limit} bytes` });

/** Reads the rest of a body without keeping it, up to `DRAIN_BYTES` in all; then the 413. */
async function refuseTooLarge(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> }, limit: number, read: number): Promise<never> {
  while (read <= DRAIN_BYTES) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done || !value) throw tooLarge(limit);
    read += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  throw tooLarge(limit);
}

async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) <= limit) return new Uint8Array(await req.arrayBuffer());
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  if (declared !== null) return refuseTooLarge(reader, limit, 0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) return refuseTooLarge(reader, limit, size);
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The body as text; bytes that are not UTF-8 are a 400 naming where (never replaced with U+FFFD). */
function bodyText(bytes: Uint8Array): string {
  const r = decodeUtf8(bytes);
  if (r.ok) return r.text;
  throw new HttpError(400, { error: `the body is not valid UTF-8: invalid byte sequence at byte offset ${r.offset}; nothing was written`, offset: r.offset });
}

function malformed(where: string, text: string): HttpError {
  const b = findJsonBreak(text);
  return new HttpError(400, { error: `malformed JSON ${where}line ${b.line}, column ${b.column}: ${b.reason}`, line: b.line, column: b.column });
}

/** A body's records, and the numbers in them that would not be stored as written (see json-text.ts). */
export interface BodyRecords {
  records: unknown[];
  issues: RecordIssue[];
}

export function parseRecords(text: string, format: BodyFormat): BodyRecords {
  /** The issues of a parsed text (numbers that change, keys given twice); `skip`: the leading path steps that name its record (an array index). */
  const issuesOf = (parsed: ParsedJson, index: (path: (string | number)[]) => number, skip = 0): RecordIssue[] =>
    parsed.inexact.length + parsed.duplicates.length === 0
      ? []
      : [
          ...parsed.inexact.map((n) => ({ index: index(n.path), path: n.path.slice(skip).join("."), message: inexactMessage(n) })),
          ...parsed.duplicates.map((d) => ({ index: index(d.path), path: d.path.slice(skip).join("."), message: DUPLICATE_MESSAGE })),
        ];
  if (format === "json") {
    let parsed: ParsedJson;
    try {
      parsed = parseExactJson(text);
    } catch {
      throw malformed("at ", text);
    }
    const value = parsed.value;
    if (Array.isArray(value)) {
      if (value.length === 0) throw new HttpError(400, { error: "the array holds no records" });
      return { records: value, issues: issuesOf(parsed, (path) => Number(path[0]), 1) };
    }
    return { records: [value], issues: issuesOf(parsed, () => 0) };
  }
  const records: unknown[] = [];
  const issues: RecordIssue[] = [];
  let lineNo = 0;
  for (const line of text.split("\n")) {
    lineNo++;
    if (line.trim() === "") continue;
    try {
      const parsed = parseExactJson(line);
      if (parsed.inexact.length + parsed.duplicates.length > 0) issues.push(...issuesOf(parsed, () => records.length));
      records.push(parsed.value);
    } catch {
      const b = findJsonBreak(line);
      throw new HttpError(400, { error: `malformed JSON on line ${lineNo}, column ${b.column}: ${b.reason}`, line: lineNo, column: b.column });
    }
  }
  if (records.length === 0) throw new HttpError(400, { error: "the body holds no records" });
  return { records, issues };
}

export async function readRecords(req: Request, limit: number): Promise<BodyRecords> {
  const format = bodyFormat(req.headers.get("content-type"));
  return parseRecords(bodyText(await readLimited(req, limit)), format);
}
