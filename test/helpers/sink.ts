/** Helpers for `ferry sink` tests: run it as a child process, read its lake and table back. */
import { resolve } from "node:path";
import { expect } from "bun:test";
import type { Kafka, Producer } from "kafkajs";
import { openDb, type S3Access, useS3 } from "../../src/db/duckdb.ts";
import { FAULT_POINTS } from "../../src/lake/batch-store.ts";
import { attachCatalog, catalogOf, LAKE_DB } from "../../src/lake/catalog.ts";
import { TEST_BROKERS } from "./servers.ts";
import { topicOffsets } from "./topic-reader.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

export interface SinkRun {
  code: number | null;
  signal: NodeJS.Signals | number | null;
  stderr: string;
}

/** Runs `ferry sink` to its end (or kills it after `timeoutMs`). */
export async function runSink(args: string[], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<SinkRun> {
  const p = Bun.spawn([process.execPath, MAIN, "sink", "--brokers", TEST_BROKERS.join(","), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, ...env } });
  const stderr = new Response(p.stderr).text();
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  await p.exited;
  clearTimeout(timer);
  return { code: p.exitCode, signal: p.signalCode, stderr: await stderr };
}

/** Starts `ferry sink` in the background. */
export function startSink(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([process.execPath, MAIN, "sink", "--brokers", TEST_BROKERS.join(","), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, ...env } });
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

/** Where a sink's lake is: its data dir's default catalog, or the --catalog given (postgres://…, sqlite:…). */
export type LakeAt = string | { dataDir: string; catalog?: string; s3?: S3Access };

/** Runs SQL on the lake's catalog, attached read-only by a separate DuckDB (as any reader would), with `lake` and `orders` in scope. */
export async function queryCatalog(at: LakeAt, sql: string): Promise<{ rows: Record<string, unknown>[]; types: Record<string, string> }> {
  const db = await openDb(":memory:");
  try {
    if (typeof at !== "string" && at.s3) await useS3(db, at.s3);
    await attachCatalog(db, catalogOf(typeof at === "string" ? { dataDir: at } : at), undefined, { readOnly: true });
    await db.exec(`USE ${LAKE_DB}`);
    const r = await db.query(sql);
    const types = Object.fromEntries(r.columns.map((c, i) => [c, r.types[i]!]));
    return { rows: r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))), types };
  } finally {
    db.close();
  }
}

/** Every row of the lake (the catalog's `lake` table), by partition and offset. */
export const readLake = (at: LakeAt) => queryCatalog(at, "SELECT * FROM lake ORDER BY kafka_topic, kafka_partition, kafka_offset");

/** Every row of the catalog's orders (each order_id's latest record). */
export async function readTable(at: LakeAt, sql = "SELECT * FROM orders ORDER BY order_id"): Promise<Record<string, unknown>[]> {
  return (await queryCatalog(at, sql)).rows;
}

/** Every row of `ferry run`'s local orders table (<data-dir>/ferry.duckdb, opened read-only after it stopped). */
export async function readRunTable(dataDir: string, sql = "SELECT * FROM orders ORDER BY order_id"): Promise<Record<string, unknown>[]> {
  const db = await openDb(`${dataDir}/ferry.duckdb`, { readOnly: true });
  try {
    const r = await db.query(sql);
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
  } finally {
    db.close();
  }
}

/** The catalog's offsets of a topic: the next offset of each partition. */
export async function catalogOffsets(at: LakeAt, topic: string): Promise<Map<number, number>> {
  const tables = await queryCatalog(at, `SELECT table_name FROM duckdb_tables() WHERE database_name = '${LAKE_DB}' AND schema_name = 'ferry_offsets'`);
  const out = new Map<number, number>();
  for (const t of tables.rows.map((r) => String(r.table_name)).filter((n) => n.startsWith(`${topic}/`))) {
    const r = await queryCatalog(at, `SELECT max(next_offset) AS n FROM ferry_offsets."${t}"`);
    out.set(Number(t.slice(topic.length + 1)), Number(r.rows[0]!.n));
  }
  return out;
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
    return new Map((await topicOffsets(admin, topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

export interface Produced {
  /** Valid records in the order produced: what the lake must hold, once each. */
  valid: { order_id: string; quantity: number; price: number; ordered_at?: string }[];
  /** The latest version of each order: what the table must hold. */
  latest: Map<string, { quantity: number; price: number }>;
  invalid: { key: string; value: string | null }[];
}

/**
 * Produces `n` records: orders, repeated order ids (a later one must win), orders without
 * ordered_at, Confluent-framed orders, and invalid records of several kinds.
 */
export async function produceKnown(producer: Producer, topic: string, n: number, start = 0): Promise<Produced> {
  const out: Produced = { valid: [], latest: new Map(), invalid: [] };
  const messages: { key: string; value: Buffer | string | null }[] = [];
  const bad = [
    "not json {",
    JSON.stringify({ order_id: "x", product: "p", quantity: 1, price: -1 }),
    JSON.stringify({ order_id: "y", product: "p", quantity: 1, price: 1, colour: "red" }),
    null,
    JSON.stringify({ order_id: "z", product: "p", quantity: 0.5, price: 1 }),
    JSON.stringify({ order_id: "old", product: "p", quantity: 1, price: 1, ordered_at: "1500-01-01T00:00:00Z" }),
  ];
  for (let i = start; i < start + n; i++) {
    if (i % 17 === 5) {
      const value = bad[Math.floor(i / 17) % bad.length]!;
      messages.push({ key: `bad-${i}`, value });
      out.invalid.push({ key: `bad-${i}`, value });
      continue;
    }
    const id = i % 11 === 3 && i > 3 ? `o-${i - 3}` : `o-${i}`;
    const order: Record<string, unknown> = { order_id: id, product: `product ${i % 7}`, quantity: 1 + (i % 9), price: Math.round(i * 37) / 100, customer_id: `c-${i % 5}` };
    if (i % 13 !== 7) order.ordered_at = `2026-11-${18 + (i % 3)}T08:${String(i % 60).padStart(2, "0")}:00.123456+00:00`;
    let value: Buffer | string = JSON.stringify(order);
    if (i % 19 === 0) value = Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from(value)]);
    messages.push({ key: id, value });
    out.valid.push(order as Produced["valid"][number]);
    out.latest.set(id, { quantity: order.quantity as number, price: order.price as number });
  }
  for (let i = 0; i < messages.length; i += 50) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 50) });
  return out;
}

export function expectLakeExact(rows: Record<string, unknown>[], produced: Produced) {
  const seen = new Set(rows.map((r) => `${r.kafka_partition}/${r.kafka_offset}`));
  expect(seen.size).toBe(rows.length); // no offset twice
  expect(rows.length).toBe(produced.valid.length);
  const got = rows.map((r) => `${r.order_id}|${r.quantity}|${Number(r.price)}`).sort();
  const want = produced.valid.map((o) => `${o.order_id}|${o.quantity}|${o.price}`).sort();
  expect(got).toEqual(want);
}

export function expectTableExact(rows: Record<string, unknown>[], produced: Produced) {
  expect(rows.length).toBe(produced.latest.size);
  for (const r of rows) {
    const want = produced.latest.get(String(r.order_id));
    expect(want).toBeDefined();
    expect({ id: r.order_id, quantity: r.quantity, price: Number(r.price) }).toEqual({ id: r.order_id, quantity: want!.quantity, price: want!.price });
  }
}

/**
 * Runs the sink to its end with `--crash-at POINT:N` for every fault point and N = 1, 2: each run
 * is killed there (SIGKILL) or ends cleanly, having caught up before that batch. Answers how many
 * were killed.
 */
export async function crashAtEveryPoint(args: string[], env: Record<string, string> = {}): Promise<number> {
  let killed = 0;
  for (const point of FAULT_POINTS) {
    for (const batch of [1, 2]) {
      const t0 = Date.now();
      const run = await runSink([...args, "--crash-at", `${point}:${batch}`], 60_000, env);
      if (process.env.FERRY_TEST_DEBUG) console.log(point, batch, run.code, run.signal, Date.now() - t0, run.stderr.split("\n").filter((l) => /notice|warn|error/.test(l)).join("\n"));
      if (run.signal === "SIGKILL") killed++;
      else expect(run.code).toBe(0); // it may have caught up before reaching that batch
    }
  }
  return killed;
}

/** Waits until a group has committed every partition of a topic up to its end (throws after `timeoutMs`). */
export async function waitCommittedToEnd(kafka: Kafka, group: string, topic: string, timeoutMs: number): Promise<void> {
  const ends = await endOffsets(kafka, topic);
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const c = await committedOffsets(kafka, group, topic);
    if ([...ends].every(([p, end]) => (c.get(p) ?? -1) >= end)) return;
    if (Date.now() > deadline) throw new Error(`group ${group} did not catch up: ${JSON.stringify([...c])} vs ${JSON.stringify([...ends])}`);
    await Bun.sleep(200);
  }
}
