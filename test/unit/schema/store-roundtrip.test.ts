/**
 * Issue 19: every record text ferry accepts is stored unchanged (the orders table and the lake), or
 * refused with a reason. Property-based (fast-check) over hostile JSON, through ferry's own
 * decoding — the HTTP ingress (read-records.ts + the schema) and the Kafka decoder (createDecoder:
 * the bytes check and the JSON.parse + valibot path) — through ferry run's sink and ferry sink's
 * batch store into DuckLake catalogs, each input into two: rows inlined in the catalog, and rows
 * in Parquet files (test/helpers/hostile/store-paths.ts), read back through their query services
 * and compared with what the text meant (test/helpers/hostile/oracle.ts: exact decimals, exact
 * instants, exact strings).
 *
 * FERRY_FUZZ_SEED fixes the seed, FERRY_FUZZ_RUNS the runs per property (scripts/fuzz: long runs).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { bodyOf, deepValue, FUZZ_SEED, fuzzParams, fuzzRuns, invalidUtf8, KNOWN_CLASSES, knownClass, nearMissJson, type orderEntries, recordText, recordTexts, withBytesInString } from "../../helpers/hostile/generators.ts";
import { type BodyMeaning, httpViolations, kafkaViolations, rowViolations } from "../../helpers/hostile/invariant.ts";
import { meaningOfBytes, meaningOfText } from "../../helpers/hostile/oracle.ts";
import { openHttpPath, openKafkaPath } from "../../helpers/hostile/store-paths.ts";

let http: Awaited<ReturnType<typeof openHttpPath>>;
let kafka: Awaited<ReturnType<typeof openKafkaPath>>;
beforeAll(async () => {
  http = await openHttpPath();
  kafka = await openKafkaPath();
}, 60_000);
afterAll(async () => {
  await http?.close();
  await kafka?.close();
});

const RUNS = 60;
/** Per property: the runs, and the shrinking of a failure, on a loaded machine. */
const TIMEOUT = Math.max(120_000, fuzzRuns(RUNS) * 400);
const show = (x: string | Uint8Array) => (typeof x === "string" ? JSON.stringify(x) : `bytes ${Buffer.from(x).toString("hex")} (${JSON.stringify(Buffer.from(x).toString("utf8"))})`);

function fail(input: string, violations: string[]): never {
  throw new Error(`seed ${FUZZ_SEED}: ${violations.length} violation(s) for ${input}:\n  - ${violations.join("\n  - ")}`);
}

/** Records of the given hostility with ids unique in their body. */
const records = (hostile: Parameters<typeof orderEntries>[0], keys = false, lineBreaks = true) => recordTexts(hostile, { keys, lineBreaks });

/** POSTs a body and checks the invariant. */
async function postAndCheck(body: { text: string | Uint8Array; contentType: string; records: string[] }, whole: Partial<BodyMeaning> = {}) {
  const meaning: BodyMeaning = { records: body.records.map(meaningOfText), ...whole };
  if (typeof body.text === "string" && body.text.startsWith("\uFEFF")) meaning.wholeMay ??= "a BOM before the body";
  const answer = await http.post(body.text, body.contentType);
  const v = httpViolations(meaning, answer, new Date());
  if (v.length > 0) fail(`POST ${body.contentType} ${show(body.text)} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`, v);
}

const TIMESTAMP = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** Produces values in one batch (with this Kafka timestamp) and checks the invariant. */
async function produceAndCheck(values: Buffer[], timestamp = TIMESTAMP) {
  const answer = await kafka.produce(values, timestamp);
  const v = kafkaViolations(values.map(meaningOfBytes), answer, timestamp);
  if (v.length > 0) fail(`values ${values.map(show).join(", ")} at Kafka timestamp ${timestamp} → rejected ${JSON.stringify(answer.rejected)}`, v);
}

const families = {
  "plain orders (must be accepted)": {},
  "hostile strings: escapes, surrogates, controls, non-BMP, BOM, NFC/NFD, lengths at the limits": { strings: true },
  "hostile numbers: exponents, -0, trailing zeros, 17+ digits, underflow, overflow": { numbers: true },
  "hostile timestamps: 1900/9999 edges, ±23:59, leap seconds, 1–9 fraction digits, lowercase, Feb 29": { timestamps: true },
} as const;

describe("the oracle (what a text means) and the invariant can fail", () => {
  const rec = (fields: string) => `{"order_id":"o","product":"tea","quantity":1,"price":1${fields}}`;
  test("verdicts", () => {
    expect(meaningOfText(rec(",\"price\":2")).verdict).toBe("MUST_REFUSE");
    expect(meaningOfText(rec(",\"ordered_at\":\"2026-01-02T03:04:05.123456Z\"")).verdict).toBe("MUST_ACCEPT");
    expect(meaningOfText(rec(",\"ordered_at\":\"2026-01-02T03:04:05.1234567Z\"")).verdict).toBe("MUST_REFUSE");
    expect(meaningOfText(rec(",\"ordered_at\":\"9999-12-31T23:59:59-23:59\"")).orderedAt?.utcDate).toBe("10000-01-01");
    expect(meaningOfText(rec(",\"ordered_at\":\"1900-01-01T00:00:00-00:01\"")).verdict).toBe("MUST_ACCEPT");
    expect(meaningOfText(rec(",\"ordered_at\":\"1900-01-01T00:00:00+00:01\"")).verdict).toBe("MUST_REFUSE");
    expect(meaningOfText(rec(",\"customer_id\":\"\\ud800\"")).verdict).toBe("MUST_REFUSE");
    expect(meaningOfText('{"order_id":"o","product":"tea","quantity":1,"price":1e-401}').verdict).toBe("MUST_REFUSE");
    expect(meaningOfText('{"order_id":"o","product":"tea","quantity":1,"price":0.1e1}').verdict).toBe("MAY");
    expect(meaningOfText('{"order_id":"o","product":"tea","quantity":1,"price":1.10}').verdict).toBe("MUST_ACCEPT");
    expect(meaningOfText('{"order_id":"o","product":"tea","quantity":1.0000000000000001,"price":1}').verdict).toBe("MUST_REFUSE");
    expect(meaningOfBytes(Buffer.from([0x7b, 0xff, 0x7d])).verdict).toBe("MUST_REFUSE");
  });
  test("a stored row that differs from the text in any way is a violation", () => {
    const m = meaningOfText('{"order_id":"\\ufeffo","product":"t","quantity":1,"price":1e-2,"ordered_at":"2024-01-01T00:00:00.000001+01:00"}');
    const row = {
      order_id: "\ufeffo", product: "t", customer_id: null, hex: { order_id: "EFBBBF6F", product: "74", customer_id: null },
      quantity: "1", price: "0.01", ordered_at_us: String(Date.UTC(2023, 11, 31, 23) * 1000 + 1), ordered_at: "", kafka_offset: 0, date: "2023-12-31",
    };
    expect(rowViolations("r", m, row)).toEqual([]);
    expect(rowViolations("r", m, { ...row, order_id: "o" })).toHaveLength(1);
    expect(rowViolations("r", m, { ...row, hex: { ...row.hex, order_id: "6F" } })).toHaveLength(1);
    expect(rowViolations("r", m, { ...row, price: "0.00" })).toHaveLength(1);
    expect(rowViolations("r", m, { ...row, ordered_at_us: String(Date.UTC(2023, 11, 31, 23) * 1000) })).toHaveLength(1);
    expect(rowViolations("r", m, { ...row, date: "2024-01-01" })).toHaveLength(1);
  });
});

describe("HTTP (ferry run): accepted ⇒ stored unchanged in the table and the lake; else 400/422 with the record and field", () => {
  for (const [name, hostile] of Object.entries(families)) {
    test(name, async () => {
      await fc.assert(
        fc.asyncProperty(bodyOf(records(hostile)), (b) => postAndCheck(b)),
        fuzzParams(RUNS),
      );
    }, TIMEOUT);
  }

  test("hostile keys: duplicates (same or other value), __proto__, constructor, unknown, escaped names, missing fields", async () => {
    await fc.assert(
      fc.asyncProperty(bodyOf(records({}, true)), (b) => postAndCheck(b)),
      fuzzParams(RUNS),
    );
  }, TIMEOUT);

  test("everything at once, bodies mixing good and bad records (object, array, NDJSON, CRLF, BOM)", async () => {
    await fc.assert(
      fc.asyncProperty(bodyOf(records({ strings: true, numbers: true, timestamps: true }, true, false)), (b) => postAndCheck(b)),
      fuzzParams(RUNS),
    );
  }, TIMEOUT);

  test("bodies that are not UTF-8 are refused (400), never stored with replacement characters", async () => {
    await fc.assert(
      fc.asyncProperty(recordText({ strings: true }), invalidUtf8, async (text, bytes) => {
        const raw = withBytesInString(text, bytes);
        await postAndCheck({ text: raw, contentType: "application/json", records: [text] }, { wholeRefuse: meaningOfBytes(raw).verdict === "MUST_REFUSE" ? "bytes that are not UTF-8" : undefined });
      }),
      fuzzParams(RUNS / 2),
    );
  }, TIMEOUT);

  test("texts that are almost JSON are refused (400)", async () => {
    await fc.assert(
      fc.asyncProperty(recordText({}).chain(nearMissJson), (text) => postAndCheck({ text, contentType: "application/json", records: [text] })),
      fuzzParams(RUNS / 2),
    );
  }, TIMEOUT);

  test("deep nesting in a field is refused, and the ingress answers", async () => {
    await fc.assert(
      fc.asyncProperty(recordText({}), deepValue, async (text, deep) => {
        const bad = text.replace(/"quantity"\s*:\s*[^,}]+/, `"quantity":${deep}`);
        await postAndCheck({ text: bad, contentType: "application/json", records: [bad] });
      }),
      fuzzParams(10),
    );
  }, TIMEOUT);
});

describe("every class found so far, whatever the seed", () => {
  for (const c of KNOWN_CLASSES) {
    test(c.name, async () => {
      const text = knownClass(c, "known-1");
      await postAndCheck({ text, contentType: "application/json", records: [text] });
      await produceAndCheck([Buffer.from(text)]);
    });
  }
});

describe("Kafka (ferry sink): accepted ⇒ stored unchanged in the lake and the table; else a dead letter with a reason", () => {
  const values = (hostile: Parameters<typeof orderEntries>[0], keys = false) =>
    records(hostile, keys).map((rs) => rs.map((r) => Buffer.from(r, "utf8")));

  for (const [name, hostile] of Object.entries(families)) {
    test(name, async () => {
      await fc.assert(fc.asyncProperty(values(hostile), (vs) => produceAndCheck(vs)), fuzzParams(RUNS));
    }, TIMEOUT);
  }

  test("hostile keys: duplicates (same or other value), __proto__, constructor, unknown, escaped names, missing fields", async () => {
    await fc.assert(fc.asyncProperty(values({}, true), (vs) => produceAndCheck(vs)), fuzzParams(RUNS));
  }, TIMEOUT);

  test("everything at once, good and bad values in one batch", async () => {
    await fc.assert(fc.asyncProperty(values({ strings: true, numbers: true, timestamps: true }, true), (vs) => produceAndCheck(vs)), fuzzParams(RUNS));
  }, TIMEOUT);

  test("values that are not UTF-8 are dead letters, never stored with replacement characters", async () => {
    await fc.assert(
      fc.asyncProperty(recordText({ strings: true }), invalidUtf8, recordText({}), async (text, bytes, good) => {
        await produceAndCheck([withBytesInString(text, bytes), Buffer.from(good)]);
      }),
      fuzzParams(RUNS / 2),
    );
  }, TIMEOUT);

  test("hostile Kafka timestamps fill in ordered_at: outside 1900..9999 the record is a dead letter, -1 (none) the time received", async () => {
    const timestamps = fc.oneof(
      fc.constantFrom(-1, 0, -2208988800001, -2208988800000, 253402300799999, 253402300800000, 8.64e15, 8.64e15 + 1, 2 ** 63 - 1),
      fc.integer({ min: -2208988800000 - 86_400_000, max: 253402300800000 + 86_400_000 }),
    );
    await fc.assert(fc.asyncProperty(records({}), timestamps, (rs, ts) => produceAndCheck(rs.map((r) => Buffer.from(r)), ts)), fuzzParams(RUNS / 2));
  }, TIMEOUT);

  test("texts that are almost JSON are dead letters", async () => {
    await fc.assert(
      fc.asyncProperty(recordText({}).chain(nearMissJson), recordText({}), (text, good) => produceAndCheck([Buffer.from(text), Buffer.from(good)])),
      fuzzParams(RUNS / 2),
    );
  }, TIMEOUT);

  test("deep nesting in a value is a dead letter, the batch goes on", async () => {
    await fc.assert(
      fc.asyncProperty(recordText({}), deepValue, async (text, deep) => {
        await produceAndCheck([Buffer.from(text.replace(/"quantity"\s*:\s*[^,}]+/, `"quantity":${deep}`)), Buffer.from(text)]);
      }),
      fuzzParams(10),
    );
  }, TIMEOUT);
});
