/**
 * The delivery guarantee under broker crashes: a broker of the test's own (scripts/services/kafka
 * on port 29092) is killed with SIGKILL and restarted five times while `ferry serve` takes
 * single-order POSTs from 32 concurrent clients and `ferry generate` produces into another topic;
 * then every acknowledged order and every generated record must be in its topic. Every other HTTP
 * answer must be 429 or 503, and no request may hang. Then `ferry export` with a kill in the middle:
 * every row of a finished range is in the topic.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { concurrent } from "cassandra-driver";
import { createKafka } from "../../src/kafka/client.ts";
import { createGenerator } from "../../src/sources/generator.ts";
import { testCassandraClient } from "../helpers/cassandra.ts";
import { startFerry, type FerryProcess } from "../helpers/ferry-process.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { ownBroker } from "../helpers/own-broker.ts";
import { SERVER_HOOK_TIMEOUT, TEST_CASSANDRA, TEST_CASSANDRA_LOGIN, uniqueName } from "../helpers/servers.ts";
import { readTopic } from "../helpers/topic-reader.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const broker = ownBroker(29092);
const kafka = createKafka({ brokers: [broker.address], clientId: "ferry-faults-test" }, memoryLogger().log);
const work = mkdtempSync(join(tmpdir(), "ferry-faults-"));
const KILLS = 5;
const PRODUCE_TIMEOUT_MS = 3000;

let serve: FerryProcess | undefined;
beforeAll(() => broker.start(), SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  await serve?.stop("SIGKILL");
  await broker.stop();
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

/** Kills the broker with SIGKILL and restarts it, `times` times, `upMs` apart; returns when it is back up. */
async function killLoop(times: number, upMs: number, downMs: number, log: string[]) {
  for (let k = 1; k <= times; k++) {
    await Bun.sleep(upMs);
    await broker.kill();
    log.push(`kill ${k} at ${new Date().toISOString()}`);
    await Bun.sleep(downMs);
    await broker.start();
    log.push(`up ${k} at ${new Date().toISOString()}`);
  }
}

test(`serve and generate: ${KILLS} broker kill -9 and restarts, every acknowledged record is in its topic`, async () => {
  const serveTopic = uniqueName("faults-serve");
  const genTopic = uniqueName("faults-generate");
  serve = await startFerry(["serve", "--brokers", broker.address, "--topic", serveTopic, "--port", "0", "--produce-timeout", `${PRODUCE_TIMEOUT_MS}ms`]);
  const generate = Bun.spawn(
    [process.execPath, MAIN, "generate", "--brokers", broker.address, "--topic", genTopic, "--seed", "11", "--rate", "3000", "--batch", "200", "--produce-timeout", "60s"],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  const genErr = new Response(generate.stderr).text();

  const acked: string[] = [];
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  let slowest = 0;
  let stop = false;
  const clients = Array.from({ length: 32 }, async (_, c) => {
    for (let i = 0; !stop; i++) {
      const id = `c${c}-${i}`;
      const t0 = performance.now();
      try {
        const res = await fetch(`${serve!.url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ order_id: id, product: "tea", quantity: 1, price: 2.5 }),
          signal: AbortSignal.timeout(30_000),
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) acked.push(id);
        else await Bun.sleep(20); // a 503 says "retry later"
      } catch (e) {
        failures.push(`${id}: ${e}`);
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
  });

  // The kills are for producing, not for starting up: the first kill waits until generate has
  // records in its topic (on a loaded machine its start took longer than the first 3 s).
  const admin = kafka.admin();
  await admin.connect();
  for (const until = Date.now() + 60_000; Date.now() < until; await Bun.sleep(200)) {
    const ends = await admin.fetchTopicOffsets(genTopic).catch(() => []);
    if (ends.some((p) => Number(p.high) > 0)) break;
  }
  await admin.disconnect();
  const timeline: string[] = [];
  await killLoop(KILLS, 3000, 1500, timeline);
  await Bun.sleep(4000); // load goes on with the broker up
  stop = true;
  await Promise.all(clients);
  generate.kill("SIGTERM");
  const genCode = await generate.exited;
  const genLog = await genErr;
  const serveLog = serve.stderr();
  const serveCode = await serve.stop();
  // Quiet logs: per outage one "unavailable" and one "reachable again" line, nothing per retry.
  const warnings = serveLog.split("\n").filter((l) => /"level":"(warn|error)"/.test(l));
  expect(warnings.length).toBeLessThanOrEqual(KILLS * 2);
  expect(warnings.filter((l) => !l.includes('"msg":"kafka unavailable"'))).toEqual([]);
  serve = undefined;

  // Every answer was 202, 429 or 503; nothing hung.
  expect(failures).toEqual([]);
  expect([...statuses.keys()].filter((s) => ![202, 429, 503].includes(s))).toEqual([]);
  expect(slowest).toBeLessThan(PRODUCE_TIMEOUT_MS + 5000);
  expect(statuses.get(503) ?? 0).toBeGreaterThan(0); // the kills were felt
  expect(acked.length).toBeGreaterThan(5000);
  expect(serveCode).toBe(0);

  // Every acknowledged order is in the topic.
  const inServe = new Set((await readTopic(kafka, serveTopic)).map((m) => m.key));
  const lostServe = acked.filter((id) => !inServe.has(id));

  // generate: the records it reports accepted are the first N of its seeded sequence; each is in the topic.
  expect({ genCode, genLog: genCode === 0 ? "" : genLog }).toEqual({ genCode: 0, genLog: "" }); // the log says why
  const accepted = Number(/"msg":"generated".*?"accepted":(\d+)/.exec(genLog)?.[1] ?? -1);
  expect(accepted).toBeGreaterThan(10_000);
  const gen = createGenerator({ kind: "orders", seed: 11, invalidRatio: 0 });
  const inGen = new Set((await readTopic(kafka, genTopic)).map((m) => m.key));
  const lostGen: string[] = [];
  for (let i = 0; i < accepted; i++) {
    const key = gen.next().key;
    if (!inGen.has(key)) lostGen.push(key);
  }
  console.log(
    `faults: ${KILLS} kills; serve acknowledged ${acked.length}, found ${acked.length - lostServe.length}, lost ${lostServe.length}, ` +
      `answers ${JSON.stringify(Object.fromEntries(statuses))}, slowest ${Math.round(slowest)} ms; ` +
      `generate accepted ${accepted}, found ${accepted - lostGen.length}, lost ${lostGen.length}; ${timeline.join(", ")}`,
  );
  expect(lostServe).toEqual([]);
  expect(lostGen).toEqual([]);
}, 240_000);

test("export: a broker kill -9 mid-export, every row of a finished range is in the topic", async () => {
  const client = testCassandraClient();
  const keyspace = uniqueName("faults").replaceAll("-", "_");
  const ROWS = 40_000;
  await client.connect();
  try {
    await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await client.execute(`CREATE TABLE ${keyspace}.rows (id int PRIMARY KEY, name text)`);
    const rows = Array.from({ length: ROWS }, (_, i) => [i, `name ${i}`]);
    await concurrent.executeConcurrent(client, `INSERT INTO ${keyspace}.rows (id, name) VALUES (?, ?)`, rows, { concurrencyLevel: 256 });

    const topic = uniqueName("faults-export");
    const checkpoint = join(work, "export.ckpt");
    const exporter = Bun.spawn(
      [
        process.execPath, MAIN, "export", "--cassandra", TEST_CASSANDRA.join(","), "--username", TEST_CASSANDRA_LOGIN.username,
        "--password", TEST_CASSANDRA_LOGIN.password, "--keyspace", keyspace, "--table", "rows", "--brokers", broker.address,
        "--topic", topic, "--parallel", "2", "--splits", "64", "--page-size", "200", "--checkpoint", checkpoint, "--produce-timeout", "60s",
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    const err = new Response(exporter.stderr).text();
    // Kill once a few ranges are finished, while the others are being sent.
    const deadline = Date.now() + 60_000;
    const finished = () => {
      try {
        return (JSON.parse(readFileSync(checkpoint, "utf8")) as { done: number[] }).done.length;
      } catch {
        return 0;
      }
    };
    while (finished() < 4 && Date.now() < deadline) await Bun.sleep(20);
    const doneAtKill = finished();
    await broker.kill();
    await Bun.sleep(1500);
    await broker.start();
    const code = await exporter.exited;
    const log = await err;
    expect(doneAtKill).toBeGreaterThan(0);
    expect(doneAtKill).toBeLessThan(64); // the kill came mid-export
    expect({ code, log: code === 0 ? "" : log }).toEqual({ code: 0, log: "" });
    expect(finished()).toBe(64);
    const keys = new Set((await readTopic(kafka, topic)).map((m) => m.key));
    const missing = Array.from({ length: ROWS }, (_, i) => String(i)).filter((k) => !keys.has(k));
    console.log(`faults: export of ${ROWS} rows with a kill after ${doneAtKill} of 64 ranges: found ${ROWS - missing.length}, lost ${missing.length}`);
    expect(missing).toEqual([]);
  } finally {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
    await client.shutdown();
  }
}, 180_000);
