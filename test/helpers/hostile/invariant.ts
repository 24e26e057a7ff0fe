/**
 * The invariant of issue 19 for one record: accepted and read back unchanged from the table and
 * the lake of every catalog it was written into (strings byte-exact, quantity exact, price exactly
 * the decimal the text said, ordered_at the same instant, the lake's date the instant's UTC date),
 * or refused with a reason. Answers the violations (empty: it holds).
 */
import { decimalText, EARLIEST_NS, type OrderMeaning, YEAR_10000_NS } from "./oracle.ts";

const EARLIEST_MS = Number(EARLIEST_NS / 1_000_000n);
const YEAR_10000_MS = Number(YEAR_10000_NS / 1_000_000n);
import type { StoredRow, StoreResult, StoreResults } from "./store-paths.ts";

const hexOf = (s: string) => Buffer.from(s, "utf8").toString("hex").toUpperCase();

/** Compares one stored row with what the record's text meant. */
export function rowViolations(where: string, m: OrderMeaning, row: StoredRow, defaultInstantUs?: bigint): string[] {
  const out: string[] = [];
  for (const k of ["order_id", "product", "customer_id"] as const) {
    const want = m.strings[k];
    const got = row[k];
    if (want === undefined) {
      if (k === "customer_id" && got !== null) out.push(`${where}: customer_id ${JSON.stringify(got)} stored for a record without one`);
      continue;
    }
    if (got !== want) out.push(`${where}: ${k} reads back as ${JSON.stringify(got)}, the text said ${JSON.stringify(want)}`);
    if (row.hex[k] !== hexOf(want)) out.push(`${where}: ${k} is stored as UTF-8 bytes ${row.hex[k]}, the text said ${hexOf(want)}`);
  }
  const q = m.quantity && decimalText(m.quantity, 0);
  if (q !== row.quantity) out.push(`${where}: quantity stored as ${row.quantity}, the text said ${q ?? "a non-integer"}`);
  const p = m.price && decimalText(m.price, 2);
  if (p !== row.price) out.push(`${where}: price stored as ${row.price}, the text said ${p ?? `a number with more than 2 decimals`}`);
  const instantUs = m.orderedAt ? m.orderedAt.ns / 1000n : defaultInstantUs;
  if (instantUs !== undefined && String(instantUs) !== row.ordered_at_us) {
    out.push(`${where}: ordered_at stored as ${row.ordered_at} (${row.ordered_at_us} µs), the text said ${instantUs} µs`);
  }
  if (row.date !== undefined && m.orderedAt && row.date !== m.orderedAt.utcDate) {
    out.push(`${where}: lake folder date=${row.date}, the UTC date of ordered_at is ${m.orderedAt.utcDate}`);
  }
  if (row.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(row.date)) out.push(`${where}: lake folder date=${row.date} is not YYYY-MM-DD`);
  return out;
}

/** An accepted record: its offset in the stores (its index in the body or batch) and what its text meant. */
export interface AcceptedRecord {
  offset: number;
  meaning: OrderMeaning;
  /** The instant ferry had to fill in (no ordered_at in the text), in µs. */
  defaultUs?: bigint;
}

/**
 * The stores' answer for accepted records: each is once in the lake and (the last of its
 * order_id) in the table, unchanged, and nothing else is there.
 */
export function storeViolations(accepted: AcceptedRecord[], store: StoreResult | undefined): string[] {
  if (accepted.length === 0) return [];
  if (!store) return ["accepted, but nothing was stored"];
  if (store.storeError) return [`accepted, then the stores refused it (in ferry: a blocked log or sink): ${store.storeError}`];
  const out: string[] = [];
  const lakeByOffset = new Map(store.lake.map((r) => [r.kafka_offset, r]));
  const tableByOffset = new Map(store.table.map((r) => [r.kafka_offset, r]));
  const lastOfId = new Map<string, number>();
  for (const a of accepted) lastOfId.set(a.meaning.strings.order_id ?? "", a.offset);
  if (store.lake.length !== accepted.length) out.push(`lake holds ${store.lake.length} rows for ${accepted.length} accepted records`);
  for (const { offset, meaning, defaultUs } of accepted) {
    const lake = lakeByOffset.get(offset);
    if (!lake) out.push(`record ${offset}: not in the lake`);
    else out.push(...rowViolations(`record ${offset} in the lake`, meaning, lake, defaultUs));
    if (lastOfId.get(meaning.strings.order_id ?? "") !== offset) continue;
    const row = tableByOffset.get(offset);
    if (!row) out.push(`record ${offset}: not in the orders table (order_id ${JSON.stringify(meaning.strings.order_id)})`);
    else out.push(...rowViolations(`record ${offset} in the table`, meaning, row, defaultUs));
  }
  const expectedTableRows = new Set(lastOfId.values()).size;
  if (store.table.length !== expectedTableRows) out.push(`orders table holds ${store.table.length} rows for ${expectedTableRows} distinct order ids`);
  return out;
}

/** storeViolations in each catalog the records were written into (each violation names its catalog). */
export function storesViolations(accepted: AcceptedRecord[], stores: StoreResults | undefined): string[] {
  if (accepted.length === 0) return [];
  if (!stores) return ["accepted, but nothing was stored"];
  return Object.entries(stores).flatMap(([catalog, store]) => storeViolations(accepted, store).map((v) => `${catalog} catalog: ${v}`));
}

/** A refusal's reason must say which field (or that the record/body itself is wrong). */
export function reasonNamesAField(reason: string): boolean {
  return /order_id|product|quantity|price|customer_id|ordered_at|unknown field|JSON|UTF-8|object|record|null/.test(reason);
}

/** What the oracle says of a body's records (a body that is not UTF-8 or not JSON at all: one MUST_REFUSE). */
export interface BodyMeaning {
  records: OrderMeaning[];
  /** The body as a whole may be refused (a BOM before it, bytes that are not UTF-8 …). */
  wholeMay?: string;
  wholeRefuse?: string;
}

/** The invariant for one POST: 202 and every record stored unchanged, or a 4xx with a reason that says where. */
export function httpViolations(meaning: BodyMeaning, answer: import("./store-paths.ts").HttpAnswer, receivedAfter: Date, checkStore = true): string[] {
  const out: string[] = [];
  const { status, body } = answer;
  const n = meaning.records.length;
  const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  if (status === 202) {
    if (meaning.wholeRefuse) out.push(`202 for a body that must be refused: ${meaning.wholeRefuse}`);
    meaning.records.forEach((m, i) => {
      if (m.verdict === "MUST_REFUSE") out.push(`record ${i} accepted (202) but must be refused: ${m.reasons.join("; ")}`);
    });
    if ((body as { accepted?: unknown })?.accepted !== n) out.push(`202 says ${JSON.stringify(body)} for ${n} records`);
    if (out.length > 0 || !checkStore) return out;
    const accepted = meaning.records.map((m, i) => {
      const filled = answer.accepted[i]?.ordered_at;
      let defaultUs: bigint | undefined;
      if (!m.orderedAt && filled !== undefined) {
        const ms = Date.parse(filled);
        if (!(ms >= answer.receivedAt!.getTime() && ms <= receivedAfter.getTime())) out.push(`record ${i}: ordered_at filled with ${filled}, not the time it was received`);
        defaultUs = BigInt(ms) * 1000n;
      }
      return { offset: i, meaning: m, defaultUs };
    });
    return [...out, ...storesViolations(accepted, answer.stores)];
  }
  if (status !== 400 && status !== 422) return [`answered ${status} ${JSON.stringify(body).slice(0, 300)} (expected 202, 400 or 422)`];
  if (typeof error !== "string" || error.length === 0) out.push(`${status} without an error text: ${JSON.stringify(body)}`);
  const mustAccept = !meaning.wholeMay && !meaning.wholeRefuse && meaning.records.every((m) => m.verdict === "MUST_ACCEPT");
  if (mustAccept) out.push(`${status} for a body of valid records: ${JSON.stringify(body).slice(0, 400)}`);
  if (status === 422) {
    const issues = (body as { issues?: unknown }).issues;
    if (!Array.isArray(issues) || issues.length === 0) out.push(`422 without issues: ${JSON.stringify(body)}`);
    else
      for (const issue of issues as { index?: unknown; path?: unknown; message?: unknown }[]) {
        if (typeof issue.index !== "number" || issue.index < 0 || issue.index >= n) out.push(`422 issue without a record index in 0..${n - 1}: ${JSON.stringify(issue)}`);
        else if (meaning.records[issue.index]!.verdict === "MUST_ACCEPT") out.push(`422 blames record ${issue.index}, a valid record: ${JSON.stringify(issue)}`);
        if (typeof issue.path !== "string" || typeof issue.message !== "string" || issue.message === "") out.push(`422 issue without a field path and message: ${JSON.stringify(issue)}`);
      }
  }
  return out;
}

/** The invariant for one Kafka batch: each value stored unchanged, or rejected (a dead letter) with a reason. */
export function kafkaViolations(meanings: OrderMeaning[], answer: import("./store-paths.ts").KafkaAnswer, timestampMs: number): string[] {
  const out: string[] = [];
  const accepted: AcceptedRecord[] = [];
  const badTimestamp = timestampMs !== -1 && (timestampMs < EARLIEST_MS || timestampMs >= YEAR_10000_MS);
  meanings.forEach((given, i) => {
    // Without ordered_at, the Kafka timestamp is filled in: outside 1900..9999 the record must be refused.
    const m: OrderMeaning =
      given.verdict !== "MUST_REFUSE" && !given.orderedAt && badTimestamp
        ? { ...given, verdict: "MUST_REFUSE", reasons: [...given.reasons, `no ordered_at, and its Kafka timestamp ${timestampMs} is outside 1900-01-01..9999-12-31`] }
        : given;
    const reason = answer.rejected[i];
    if (reason === undefined) {
      if (m.verdict === "MUST_REFUSE") out.push(`value ${i} accepted but must be refused: ${m.reasons.join("; ")}`);
      else accepted.push({ offset: i, meaning: m, defaultUs: m.orderedAt || timestampMs === -1 ? undefined : BigInt(timestampMs) * 1000n });
    } else {
      if (typeof reason !== "string" || reason.trim() === "") out.push(`value ${i} rejected without a reason`);
      if (m.verdict === "MUST_ACCEPT") out.push(`value ${i} (a valid record) rejected: ${reason}`);
    }
  });
  if (out.length > 0) return out;
  return storesViolations(accepted, answer.stores);
}

/** An accepted record of a running ferry: what its text meant, and when it was posted (for a filled-in ordered_at). */
export interface PostedRecord {
  meaning: OrderMeaning;
  postedUs: [bigint, bigint];
}

/**
 * Rows read back from a running ferry (the table, or the lake) against the accepted records, in
 * the order they were accepted, matched by the order_id's UTF-8 bytes: the table holds the last
 * record of each id, the lake every record once.
 */
export function storedByIdViolations(where: string, accepted: PostedRecord[], rows: StoredRow[], kind: "table" | "lake" = where.startsWith("lake") ? "lake" : "table"): string[] {
  const out: string[] = [];
  const rowsById = Map.groupBy(rows, (r) => r.hex.order_id);
  const acceptedById = Map.groupBy(accepted, (a) => hexOf(a.meaning.strings.order_id ?? ""));
  const check = (a: PostedRecord, row: StoredRow, label: string) => {
    const v = rowViolations(label, a.meaning, row);
    if (!a.meaning.orderedAt) {
      const us = BigInt(row.ordered_at_us);
      if (us < a.postedUs[0] || us > a.postedUs[1]) v.push(`${label}: ordered_at filled in as ${row.ordered_at}, not the time it was received (${a.postedUs[0]}..${a.postedUs[1]} µs)`);
    }
    return v;
  };
  for (const [id, records] of acceptedById) {
    const found = rowsById.get(id) ?? [];
    const label = `${where} (order_id ${JSON.stringify(records[0]!.meaning.strings.order_id)})`;
    if (kind === "table") {
      if (found.length !== 1) out.push(`${label}: ${found.length} rows for one accepted order_id`);
      else out.push(...check(records[records.length - 1]!, found[0]!, label));
      continue;
    }
    if (found.length !== records.length) out.push(`${label}: ${found.length} rows for ${records.length} accepted record(s)`);
    // Each accepted record matches a row of its own (rows of one id may come in any order).
    const left = [...found];
    for (const a of records) {
      const i = left.findIndex((row) => check(a, row, label).length === 0);
      if (i >= 0) left.splice(i, 1);
      else out.push(...(left.length > 0 ? check(a, left[0]!, label) : [`${label}: no row for one of its records`]));
    }
  }
  for (const r of rows) if (!acceptedById.has(r.hex.order_id)) out.push(`${where}: a row nobody sent an accepted record for: ${JSON.stringify(r)}`);
  return out;
}
