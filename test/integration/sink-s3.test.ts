/**
 * `ferry sink --lake s3://…` against a real S3-compatible server (S3Proxy, started by the project's
 * script on a port of the test's own): the lake lands in the bucket with the local layout, `ferry
 * query` reads it (DuckDB's httpfs, embedded) and so does a reader ferry did not write (pyarrow's S3
 * filesystem), with the right types; kill -9 at every point of a batch leaves every valid record in
 * the S3 lake exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kafka, Producer } from "kafkajs";
import { createKafka } from "../../src/kafka/client.ts";
import { FAULT_POINTS } from "../../src/sinks/lake-batches.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { expectSuccess, runFerry } from "../helpers/ferry-process.ts";
import { pyarrowReadS3 } from "../helpers/peers.ts";
import { downloadPrefix, listKeys, ownS3 } from "../helpers/s3.ts";
import { SERVER_HOOK_TIMEOUT, TEST_BROKERS, uniqueName } from "../helpers/servers.ts";
import { expectLakeExact, expectTableExact, produceKnown, readLake, readTable, runSink } from "../helpers/sink.ts";
import { createTestTopic } from "../helpers/topic-reader.ts";

const s3 = ownS3(19901);
const kafka: Kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
let producer: Producer;
const work = mkdtempSync(join(tmpdir(), "ferry-sink-s3-"));

beforeAll(async () => {
  await s3.start();
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
}, SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  await producer.disconnect();
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

/** The S3 settings as a user gives them: the standard AWS variables, path-style addressing. */
const s3Env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ENDPOINT_URL: s3.endpoint });

describe("ferry sink --lake s3://…", () => {
  test("the lake lands in the bucket with the local layout; pyarrow reads it with the right types; the table is local", async () => {
    const topic = uniqueName("sink-s3");
    const prefix = uniqueName("lake");
    const dataDir = join(work, "plain");
    await createTestTopic(kafka, topic, 3);
    const produced = await produceKnown(producer, topic, 400);
    const run = await runSink(["--topic", topic, "--group", uniqueName("g"), "--data-dir", dataDir, "--lake", `s3://${s3.bucket}/${prefix}`, "--s3-path-style", "--until-caught-up", "--max-records", "150"], 60_000, s3Env());
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain(s3.secretAccessKey);
    const keys = await listKeys(s3, `${prefix}/${topic}/`);
    expect(keys.length).toBeGreaterThan(0);
    expect(await listKeys(s3, `${prefix}/_ferry/`)).toEqual([`${prefix}/_ferry/writer`]); // the sink that writes it
    for (const k of keys) expect(k).toMatch(new RegExp(`^${prefix}/${topic}/date=\\d{4}-\\d{2}-\\d{2}/part-\\d{5}-\\d{20}-\\d{20}\\.parquet$`));
    expect(existsSync(join(dataDir, "lake"))).toBe(false); // nothing local but the database
    const copy = await downloadPrefix(s3, prefix);
    expectLakeExact((await readLake([copy])).rows, produced);
    expectTableExact(await readTable(dataDir), produced);
    // ferry query reads the S3 lake through DuckDB's httpfs (embedded), as the data dir recorded it.
    const q = await runFerry(["query", "--data-dir", dataDir, "--s3-path-style", "--format", "json", "select count(*)::INT AS n, count(DISTINCT kafka_partition || '/' || kafka_offset)::INT AS d, min(typeof(price)) AS t from lake"], 60_000, s3Env());
    expectSuccess(q);
    expect(JSON.parse(q.out)).toEqual({ n: produced.valid.length, d: produced.valid.length, t: "DECIMAL(12,2)" });
    const arrow = await pyarrowReadS3(s3, `${s3.bucket}/${prefix}/${topic}`);
    expect(arrow.rows).toBe(produced.valid.length);
    expect(new Set(arrow.offsets.map(([p, o]) => `${p}/${o}`)).size).toBe(arrow.rows);
    expect(arrow.types).toMatchObject({ order_id: "string", quantity: "int32", price: "decimal128(12, 2)", ordered_at: "timestamp[us, tz=UTC]", kafka_partition: "int32", kafka_offset: "int64", ingested_at: "timestamp[us, tz=UTC]" });
  }, 180_000);

  test("kill -9 at every point of a batch, over and over: every valid record in the S3 lake exactly once", async () => {
    const topic = uniqueName("sink-s3-crash");
    const prefix = uniqueName("lake");
    const dataDir = join(work, "crash");
    await createTestTopic(kafka, topic, 3);
    const produced = await produceKnown(producer, topic, 600);
    const args = ["--topic", topic, "--group", uniqueName("g"), "--data-dir", dataDir, "--lake", `s3://${s3.bucket}/${prefix}`, "--s3-path-style", "--max-records", "40", "--interval", "200ms", "--until-caught-up", "--session-timeout", "6s"];
    let killed = 0;
    for (const point of FAULT_POINTS) {
      for (const batch of [1, 2]) {
        const run = await runSink([...args, "--crash-at", `${point}:${batch}`], 60_000, s3Env());
        if (run.signal === "SIGKILL") killed++;
        else expect(run.code).toBe(0);
      }
    }
    expect(killed).toBeGreaterThanOrEqual(FAULT_POINTS.length * 2 - 1);
    const last = await runSink(args, 60_000, s3Env());
    expect(last.code).toBe(0);
    const copy = await downloadPrefix(s3, prefix);
    expectLakeExact((await readLake([copy])).rows, produced);
    expectTableExact(await readTable(dataDir), produced);
    // Files of batches that never committed were moved under <prefix>/_orphans/, not deleted.
    expect((await listKeys(s3, `${prefix}/_orphans/`)).length).toBeGreaterThan(0);
  }, 300_000);

  test("a data dir keeps its lake, and a lake its sink: another pairing is refused", async () => {
    const prefix = uniqueName("lake");
    const first = join(work, "owner");
    const topic = uniqueName("other");
    await createTestTopic(kafka, topic, 1);
    const args = (dataDir: string, lake?: string) => ["--topic", topic, "--group", uniqueName("g"), "--data-dir", dataDir, "--until-caught-up", ...(lake ? ["--lake", lake, "--s3-path-style"] : [])];
    expect((await runSink(args(first, `s3://${s3.bucket}/${prefix}`), 30_000, s3Env())).code).toBe(0);
    // The same data dir with its lake elsewhere: its offsets would be wrong there.
    const local = await runSink(args(first), 30_000);
    expect(local.code).not.toBe(0);
    expect(local.stderr).toContain("use a data dir of its own for another lake");
    // Another data dir on the same prefix: it would recover the lake by other offsets.
    const second = await runSink(args(join(work, "intruder"), `s3://${s3.bucket}/${prefix}`), 30_000, s3Env());
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain("is written by another sink");
    // The owner goes on.
    expect((await runSink(args(first, `s3://${s3.bucket}/${prefix}`), 30_000, s3Env())).code).toBe(0);
  }, 90_000);
});
