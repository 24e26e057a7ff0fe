/** Helpers for `ferry sink` tests: run it as a child process, read its lake and table back. */
import { resolve } from "node:path";
import type { Kafka } from "kafkajs";
import { openDb } from "../../src/db/duckdb.ts";
import { TEST_BROKERS } from "./servers.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

export interface SinkRun {
  code: number | null;
  signal: NodeJS.Signals | number | null;
  stderr: string;
}

/** Runs `ferry sink` to its end (or kills it after `timeoutMs`). */
export async function runSink(args: string[], timeoutMs = 60_000): Promise<SinkRun> {
  const p = Bun.spawn([process.execPath, MAIN, "sink", "--brokers", TEST_BROKERS.join(","), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const stderr = new Response(p.stderr).text();
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  await p.exited;
  clearTimeout(timer);
  return { code: p.exitCode, signal: p.signalCode, stderr: await stderr };
}

/** Starts `ferry sink` in the background. */
export function startSink(args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, "sink", "--brokers", TEST_BROKERS.join(","), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let err = "";
  const decoder = new TextDecoder();
  // One reader drains stderr for the child's whole life, so it never blocks on a full pipe.
  const drained = (async () => {
    for await (const chunk of p.stderr) err += decoder.decode(chunk);
  })().catch(() => {});
  return {
    proc: p,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<SinkRun> {
      p.kill(signal);
      await p.exited;
      await drained;
      return { code: p.exitCode, signal: p.signalCode, stderr: err };
    },
  };
}

/** Every row of the lake folders given (read by a separate DuckDB, as any reader would). */
export async function readLake(lakeDirs: string[]): Promise<{ rows: Record<string, unknown>[]; types: Record<string, string> }> {
  const db = await openDb(":memory:");
  try {
    const files = lakeDirs.map((d) => `'${d}/**/*.parquet'`).join(", ");
    const r = await db.query(`SELECT * FROM read_parquet([${files}], hive_partitioning = true, union_by_name = true) ORDER BY kafka_partition, kafka_offset`);
    const types = Object.fromEntries(r.columns.map((c, i) => [c, r.types[i]!]));
    return { rows: r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))), types };
  } finally {
    db.close();
  }
}

/** Every row of a data dir's orders table (opened read-only after the sink stopped). */
export async function readTable(dataDir: string, sql = "SELECT * FROM orders ORDER BY order_id"): Promise<Record<string, unknown>[]> {
  const db = await openDb(`${dataDir}/ferry.duckdb`, { readOnly: true });
  try {
    const r = await db.query(sql);
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
  } finally {
    db.close();
  }
}

/** The group's committed offsets, by partition. */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(t!.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** End offsets of a topic, by partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}
