/**
 * Issue 19 end to end on `ferry sink` (the compiled binary) and the real Kafka: hostile values
 * produced to a fresh topic; `ferry sink --until-caught-up` exits 0; each value is either in the
 * orders table and the lake unchanged (strings byte-exact, exact decimals, the same instant, the
 * right date= folder; a missing ordered_at filled in from the Kafka timestamp), or in `<topic>.dlq` whole (same key and value) with a `ferry.error` reason —
 * never both, never neither; a second run exits 0 with nothing new.
 *
 * Needs Kafka (scripts/services/kafka start). FERRY_FUZZ_SEED, FERRY_FUZZ_RUNS (generated values; default 400).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { Kafka, Producer } from "kafkajs";
import { createKafka } from "../../../src/kafka/client.ts";
import { queryJson, requireBinary, runBinary, storedRows } from "../../helpers/hostile/binary.ts";
import { deepValue, FUZZ_SEED, fuzzRuns, invalidUtf8, KNOWN_CLASSES, knownClass, mixedRecordTexts, nearMissJson, recordText, withBytesInString } from "../../helpers/hostile/generators.ts";
import { type PostedRecord, storedByIdViolations } from "../../helpers/hostile/invariant.ts";
import { meaningOfBytes, type OrderMeaning } from "../../helpers/hostile/oracle.ts";
import { memoryLogger } from "../../helpers/logger.ts";
import { TEST_BROKERS, uniqueName } from "../../helpers/servers.ts";
import { createTestTopic } from "../../helpers/topic-reader.ts";

const kafka: Kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-fuzz" }, memoryLogger().log);
let producer: Producer;
const work = mkdtempSync(join(tmpdir(), "ferry-fuzz-sink-"));
const EARLIEST_MS = Date.UTC(1900, 0, 1);
/** The records' Kafka timestamp: an order without ordered_at gets it. */
const TIMESTAMP = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

beforeAll(async () => {
  requireBinary();
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
}, 60_000);
afterAll(async () => {
  await producer?.disconnect();
  rmSync(work, { recursive: true, force: true });
});

interface Value {
  key: string;
  value: Buffer | null;
  meaning: OrderMeaning;
  /** The record's Kafka timestamp (ms; -1: none): an order without ordered_at gets it. */
  timestamp: number;
}

/** Kafka timestamps the broker takes: ours, 1970, just before 1900 (must make a dead letter without ordered_at), exactly 1900, none. */
const timestampOf = (i: number) => [TIMESTAMP, 0, TIMESTAMP, -2208988800001, TIMESTAMP, -2208988800000, TIMESTAMP, -1][i % 8]!;

const framed = (json: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), json]);

/** Every known class, then generated values (mixed hostility, not UTF-8, deeply nested, framed, tombstones, garbage). */
function values(): Value[] {
  const out: Value[] = [];
  const add = (value: Buffer | null, meaningOf = value) => {
    let meaning: OrderMeaning = meaningOf === null ? { verdict: "MUST_REFUSE", reasons: ["a tombstone"], strings: {} } : meaningOfBytes(meaningOf);
    const timestamp = timestampOf(out.length);
    if (meaning.verdict !== "MUST_REFUSE" && !meaning.orderedAt && timestamp !== -1 && timestamp < EARLIEST_MS) meaning = { ...meaning, verdict: "MUST_REFUSE", reasons: [`no ordered_at and a Kafka timestamp (${timestamp}) before 1900`] };
    out.push({ key: `v-${out.length}`, value, meaning, timestamp });
  };
  KNOWN_CLASSES.forEach((c, k) => add(Buffer.from(knownClass(c, `known-${k}`))));
  const runs = fuzzRuns(400);
  for (let k = 0; out.length < KNOWN_CLASSES.length + runs; k++) {
    const kind = k % 25;
    const seed = { seed: FUZZ_SEED + k, numRuns: 1 };
    if (kind === 3) {
      const [text, bytes] = fc.sample(fc.tuple(recordText({ strings: true }), invalidUtf8), seed)[0]!;
      add(withBytesInString(text.replace(/"order_id"\s*:\s*"/, `"order_id":"utf8-${k}-`), bytes));
    } else if (kind === 8) {
      const [text, deep] = fc.sample(fc.tuple(recordText({}), deepValue), seed)[0]!;
      add(Buffer.from(text.replace(/"quantity"\s*:\s*[^,}]+/, `"quantity":${deep}`)));
    } else if (kind === 11) {
      const text = fc.sample(mixedRecordTexts(`f${k}-`), seed)[0]![0]!;
      add(framed(Buffer.from(text)), Buffer.from(text));
    } else if (kind === 17) add(null);
    else if (kind === 19) add(Buffer.from([...fc.sample(fc.uint8Array({ minLength: 0, maxLength: 40 }), seed)[0]!]));
    else for (const text of fc.sample(mixedRecordTexts(`g${k}-`), seed)[0]!) add(Buffer.from(text));
  }
  return out;
}

interface DeadLetter {
  key: string | null;
  value: Buffer | null;
  error: string | undefined;
}

/** Every record of a topic (dead letters: key, value, ferry.error), read to its end. */
async function readAll(topic: string): Promise<DeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).catch(() => []);
  await admin.disconnect();
  const total = ends.reduce((s, p) => s + Number(p.high), 0);
  if (total === 0) return [];
  const consumer = kafka.consumer({ groupId: uniqueName("dlq-reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: DeadLetter[] = [];
  await new Promise<void>((done) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const error = message.headers?.["ferry.error"];
        out.push({ key: message.key?.toString() ?? null, value: message.value, error: error === undefined ? undefined : String(error) });
        if (out.length >= total) done();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

const show = (v: Buffer | null) => (v === null ? "null (tombstone)" : `${JSON.stringify(v.toString("utf8")).slice(0, 400)} (${v.length} bytes)`);

test(
  "ferry sink: each hostile value is in the table and the lake unchanged, or a dead letter with its reason; exit 0, and again with nothing new",
  async () => {
    const topic = uniqueName("fuzz-sink");
    const group = uniqueName("fuzz-group");
    const dataDir = join(work, "data");
    await createTestTopic(kafka, topic, 1);
    const vs = values();
    // In small sends: deeply nested values are large, and a request must stay below the broker's limit.
    for (let i = 0; i < vs.length; i += 20) {
      await producer.send({ topic, acks: -1, messages: vs.slice(i, i + 20).map((v) => ({ key: v.key, value: v.value, timestamp: String(v.timestamp) })) });
    }

    const args = ["sink", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--group", group, "--data-dir", dataDir, "--until-caught-up", "--interval", "300ms", "--max-records", "40"];
    const started = BigInt(Date.now()) * 1000n;
    const first = await runBinary(args, 120_000);
    const ended = BigInt(Date.now()) * 1000n;
    const violations: string[] = [];
    if (first.code !== 0) violations.push(`ferry sink exited ${first.code}: ${first.err.slice(-4000)}`);

    const dead = await readAll(`${topic}.dlq`);
    const deadByKey = Map.groupBy(dead, (d) => d.key ?? "");
    const accepted: PostedRecord[] = [];
    for (const v of vs) {
      const letters = deadByKey.get(v.key) ?? [];
      if (letters.length > 1) violations.push(`value ${v.key} ${show(v.value)}: ${letters.length} dead letters`);
      const letter = letters[0];
      if (letter) {
        if (v.meaning.verdict === "MUST_ACCEPT") violations.push(`value ${v.key} ${show(v.value)}, a valid record, was dead-lettered: ${letter.error}`);
        if (!letter.error) violations.push(`dead letter of ${v.key} without a ferry.error header`);
        const same = v.value === null ? letter.value === null : letter.value !== null && Buffer.compare(letter.value, v.value) === 0;
        if (!same) violations.push(`dead letter of ${v.key} does not carry the value unchanged: ${show(letter.value)} for ${show(v.value)}`);
      } else if (v.meaning.verdict === "MUST_REFUSE") {
        violations.push(`value ${v.key} ${show(v.value)} must be refused (${v.meaning.reasons.join("; ")}) but is no dead letter`);
      } else accepted.push({ meaning: v.meaning, postedUs: v.timestamp === -1 ? [started, ended] : [BigInt(v.timestamp) * 1000n, BigInt(v.timestamp) * 1000n] });
    }
    const unknownLetters = dead.filter((d) => !vs.some((v) => v.key === d.key));
    if (unknownLetters.length > 0) violations.push(`dead letters for records nobody produced: ${JSON.stringify(unknownLetters.map((d) => d.key))}`);

    if (first.code === 0) {
      violations.push(...storedByIdViolations("orders table", accepted, await storedRows(dataDir, "orders")));
      violations.push(...storedByIdViolations("lake", accepted, await storedRows(dataDir, "lake")));

      // Again: caught up already, nothing new anywhere.
      const lakeBefore = await queryJson(dataDir, "SELECT count(*) AS n FROM lake");
      const second = await runBinary(args, 120_000);
      if (second.code !== 0) violations.push(`second ferry sink run exited ${second.code}: ${second.err.slice(-4000)}`);
      expect(await queryJson(dataDir, "SELECT count(*) AS n FROM lake")).toEqual(lakeBefore);
      if ((await readAll(`${topic}.dlq`)).length !== dead.length) violations.push("the second run sent dead letters again");
    }
    console.log(`seed ${FUZZ_SEED}: ${vs.length} values, ${accepted.length} stored, ${dead.length} dead letters`);
    // The run must have tried both ways (a sink that dead-letters everything, or nothing, is caught above too).
    if (accepted.length === 0 || dead.length === 0) violations.push(`nothing ${accepted.length === 0 ? "stored" : "dead-lettered"}: the run tested one way only`);
    if (violations.length > 0) throw new Error(`seed ${FUZZ_SEED}, ${vs.length} values, ${accepted.length} stored, ${dead.length} dead letters: ${violations.length} violation(s):\n  - ${violations.join("\n  - ")}`);
  },
  Math.max(300_000, fuzzRuns(400) * 1000),
);
