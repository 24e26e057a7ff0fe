/**
 * Fault tests of `ferry sink` against the real servers (issue #20 item 8): a PostgreSQL catalog
 * (scripts/services/postgres) and an S3 lake (S3Proxy). Each ends with every valid record exactly
 * once in `lake`, `orders` exact, nothing from a zombie and Kafka committed to the end.
 * 1. kill -9 of a sink at every point of a batch (inlined batches and batches written as files);
 * 2. three members of one group: joins, a leave (SIGTERM), kill -9s (inside a commit, between the
 *    catalog's commit and Kafka's, at a random time) and rejoins, while producing;
 * 3. PostgreSQL killed (SIGKILL) and restarted several times while a sink commits: it rides out
 *    each outage (its commits tried again until the server is back), except for DuckDB's own
 *    internal error that invalidates its instance (upstream), after which it is restarted;
 * 4. a zombie: a member paused (SIGSTOP) past its session timeout while its batch is open, its
 *    partitions taken over, then resumed (SIGCONT): it commits nothing of that batch, says why, and
 *    rejoins the group as a new member.
 * The kills of PostgreSQL hit a server of this file's own (another port); the others use fresh
 * databases on the shared one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kafka, Producer } from "kafkajs";
import { createKafka } from "../../src/kafka/client.ts";
import { FAULT_POINTS } from "../../src/lake/batch-store.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { ownPostgres, sharedPostgres } from "../helpers/postgres.ts";
import { listKeys, ownS3 } from "../helpers/s3.ts";
import { SERVER_HOOK_TIMEOUT, TEST_BROKERS, uniqueName } from "../helpers/servers.ts";
import { committedOffsets, crashAtEveryPoint, endOffsets, expectLakeExact, expectTableExact, type LakeAt, type Produced, produceKnown, queryCatalog, readLake, readTable, runSink, startSink, waitCommittedToEnd } from "../helpers/sink.ts";
import { createTestTopic } from "../helpers/topic-reader.ts";

const s3 = ownS3(Number(process.env.FERRY_TEST_S3_FAULTS_PORT ?? 19911));
/** A PostgreSQL server of this file's own: killed and restarted by scenario 3. */
const ownPg = ownPostgres(Number(process.env.FERRY_TEST_PG_FAULTS_PORT ?? 55441));
const kafka: Kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
let producer: Producer;
const work = mkdtempSync(join(tmpdir(), "ferry-lake-faults-"));
const databases: { server: ReturnType<typeof ownPostgres>; url: string }[] = [];
const debug = (...a: unknown[]) => process.env.FERRY_TEST_DEBUG && console.log(...a);

beforeAll(async () => {
  await Promise.all([s3.start(), sharedPostgres.start(), ownPg.start()]);
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
}, SERVER_HOOK_TIMEOUT * 2);
afterAll(async () => {
  for (const s of sinks) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGKILL");
  await Promise.allSettled(producers.map((stop) => stop()));
  await producer.disconnect();
  for (const { server, url } of databases) await server.dropDatabase(url).catch(() => {});
  await Promise.allSettled([s3.stop(), ownPg.stop()]);
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT * 2);

/** The S3 settings as a user gives them (standard AWS variables). */
const s3Env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ENDPOINT_URL: s3.endpoint });
const s3Access = () => ({ endpoint: s3.endpoint, region: "us-east-1", accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, pathStyle: true });

/** A new lake: a fresh database on `server` as its catalog, a fresh prefix of the bucket as its data path. */
async function newLake(server: ReturnType<typeof ownPostgres>, name: string) {
  const url = await server.freshDatabase(name);
  databases.push({ server, url });
  const prefix = uniqueName(name);
  const at: LakeAt = { dataDir: join(work, `${name}-reader`), catalog: url, s3: s3Access() };
  return { url, prefix, at, args: ["--catalog", url, "--lake", `s3://${s3.bucket}/${prefix}`] };
}

/** Every snapshot that a sink's batch wrote ("batch N: …"): its writer (author) and ranges ("topic/p:first-last …"). */
async function batchSnapshots(at: LakeAt) {
  const r = await queryCatalog(at, "SELECT snapshot_id, author, commit_message, commit_extra_info FROM ducklake_snapshots('ferry_lake') WHERE starts_with(commit_message, 'batch ') ORDER BY snapshot_id");
  return r.rows.map((row) => {
    const ranges = String(JSON.parse(String(row.commit_extra_info)).ranges ?? "")
      .split(" ")
      .filter(Boolean)
      .map((s) => {
        const m = /^(.+)\/(\d+):(\d+)-(\d+)$/.exec(s)!;
        return { topic: m[1]!, partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) };
      });
    return { id: Number(row.snapshot_id), author: String(row.author), message: String(row.commit_message), ranges };
  });
}

/** Each partition's row in the catalog's offsets: the next offset and the writer that moved it last. */
async function offsetRows(at: LakeAt, topic: string): Promise<Map<number, { next: number; writer: string }>> {
  const tables = await queryCatalog(at, `SELECT table_name FROM duckdb_tables() WHERE database_name = 'ferry_lake' AND schema_name = 'ferry_offsets' AND starts_with(table_name, '${topic}/')`);
  const out = new Map<number, { next: number; writer: string }>();
  for (const name of tables.rows.map((r) => String(r.table_name))) {
    const r = await queryCatalog(at, `SELECT next_offset, writer FROM ferry_offsets."${name}" ORDER BY next_offset DESC LIMIT 1`);
    out.set(Number(name.slice(topic.length + 1)), { next: Number(r.rows[0]!.next_offset), writer: String(r.rows[0]!.writer) });
  }
  return out;
}

/**
 * Produces orders with unique ids (every 40th record invalid: not JSON) until stopped; answers
 * what was produced, as produceKnown does (each id once: `orders` holds every valid one).
 */
const producers: (() => Promise<unknown>)[] = [];
function produceWhileRunning(topic: string, prefix: string) {
  const produced: Produced = { valid: [], latest: new Map(), invalid: [] };
  let producing = true;
  let n = 0;
  const loop = (async () => {
    while (producing) {
      const messages = Array.from({ length: 30 }, () => {
        const i = n++;
        if (i % 40 === 39) {
          produced.invalid.push({ key: `bad-${i}`, value: "not json {" });
          return { key: `bad-${i}`, value: "not json {" };
        }
        const o = { order_id: `${prefix}-${i}`, product: "tea", quantity: 1 + (i % 7), price: (i % 500) / 100 };
        produced.valid.push(o);
        produced.latest.set(o.order_id, { quantity: o.quantity, price: o.price });
        return { key: o.order_id, value: JSON.stringify(o) };
      });
      await producer.send({ topic, acks: -1, messages });
      await Bun.sleep(40);
    }
  })();
  const stop = async () => {
    producing = false;
    await loop;
    return produced;
  };
  producers.push(stop);
  return { stop };
}

/**
 * Whether a session of the catalog's database sits idle inside a transaction that wrote (holds
 * RowExclusiveLock) for 400 ms or more: a writer paused inside its catalog commit. Its locks make
 * every other writer's commit wait (DuckLake's commits all write the snapshot tables) until it
 * resumes or its session ends.
 */
async function pausedInCommit(server: ReturnType<typeof ownPostgres>, databaseUrl: string): Promise<boolean> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const n = await server.psql(
    `SELECT count(DISTINCT a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid WHERE a.datname = '${name}' AND a.state LIKE 'idle in transaction%' AND a.state_change < now() - interval '400 milliseconds' AND l.mode = 'RowExclusiveLock'`,
  );
  return Number(n.trim()) > 0;
}

type Sink = ReturnType<typeof startSink>;
/** Every sink this file started: any still running at the end (a failed test) is killed. */
const sinks: Sink[] = [];
/** A sink of this file (info level: its "batch written" lines are counted). */
const sink = (args: string[]) => {
  const s = startSink([...args, "--log-level", "info"], s3Env());
  sinks.push(s);
  return s;
};
const batchesWritten = (s: Sink) => s.stderr().match(/"msg":"batch written"/g)?.length ?? 0;

/** Waits until `cond` holds (polling), or throws naming `what` (with the notable log lines of `logs`). */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, ...logs: Sink[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\n${logs.map((l) => l.stderr().split("\n").slice(-30).join("\n")).join("\n---\n")}`);
    await Bun.sleep(100);
  }
}

/** Waits for a sink's exit (SIGKILL after `ms`): its signal or code. */
async function exitOf(s: Sink, ms: number): Promise<string | number | null> {
  const t = setTimeout(() => s.proc.kill("SIGKILL"), ms);
  await s.proc.exited;
  clearTimeout(t);
  return s.proc.signalCode ?? s.proc.exitCode;
}

/** The log lines worth reading after a failure: notices, warnings and errors, and anything not a log line (e.g. "ferry: …" at exit). */
const notable = (stderr: string) => stderr.split("\n").filter((l) => /"level":"(notice|warn|error)"/.test(l) || (l.trim() !== "" && !l.startsWith("{")));
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.includes('"level":"error"'));

async function expectLakeAndTable(at: LakeAt, produced: Produced) {
  expectLakeExact((await readLake(at)).rows, produced);
  expectTableExact(await readTable(at), produced);
}

describe("lake faults: PostgreSQL catalog, S3 lake", () => {
  test("kill -9 at every point of a batch (inlined batches, then batches written to S3 as files): every valid record once", async () => {
    const topic = uniqueName("faults-crash");
    const group = uniqueName("g");
    const lake = await newLake(sharedPostgres, "crash");
    await createTestTopic(kafka, topic, 3);
    const first = await produceKnown(producer, topic, 600);
    // No maintenance here: it would flush the inlined batches into files, which this test tells apart.
    const common = ["--topic", topic, "--group", group, "--data-dir", join(work, "crash"), ...lake.args, "--until-caught-up", "--session-timeout", "6s", "--maintain-every", "0"];
    const small = [...common, "--max-records", "40", "--interval", "200ms"];
    const killed = await crashAtEveryPoint(small, s3Env());
    expect(killed).toBeGreaterThanOrEqual(FAULT_POINTS.length * 2 - 1);
    expect(await queryCatalog(lake.at, "SELECT count(*)::INT AS n FROM ducklake_list_files('ferry_lake', 'lake')")).toMatchObject({ rows: [{ n: 0 }] });

    // Batches past the inlining limit: their rows go to Parquet files on S3 inside the transaction.
    const second = await produceKnown(producer, topic, 4400, 600);
    const big = [...common, "--max-records", "2500", "--interval", "2s"];
    for (const point of ["in-commit", "after-commit"]) {
      const run = await runSink([...big, "--crash-at", `${point}:1`], 60_000, s3Env());
      debug(point, run.signal, notable(run.stderr));
      expect(run.signal).toBe("SIGKILL");
    }
    const last = await runSink(big, 60_000, s3Env());
    expect({ code: last.code, errors: errorLines(last.stderr) }).toEqual({ code: 0, errors: [] });

    const produced: Produced = { valid: [...first.valid, ...second.valid], latest: new Map([...first.latest, ...second.latest]), invalid: [...first.invalid, ...second.invalid] };
    await expectLakeAndTable(lake.at, produced);
    expect(await committedOffsets(kafka, group, topic)).toEqual(await endOffsets(kafka, topic));
    // The catalog's files are in the bucket (a killed transaction's may be there too, never in the lake).
    const files = (await queryCatalog(lake.at, "SELECT data_file FROM ducklake_list_files('ferry_lake', 'lake')")).rows.map((r) => String(r.data_file));
    expect(files.length).toBeGreaterThan(0);
    const keys = new Set((await listKeys(s3, `${lake.prefix}/`)).map((k) => `s3://${s3.bucket}/${k}`));
    for (const f of files) expect(keys.has(f)).toBe(true);
    debug("files in the catalog", files.length, "objects in the bucket", keys.size);
  }, 240_000);

  test("three members of one group while producing: joins, a leave, kill -9s (inside a commit, after it, at any time) and rejoins: every valid record once", async () => {
    const topic = uniqueName("faults-members");
    const group = uniqueName("g");
    const lake = await newLake(sharedPostgres, "members");
    await createTestTopic(kafka, topic, 6);
    const common = ["--topic", topic, "--group", group, ...lake.args, "--max-records", "50", "--interval", "200ms", "--session-timeout", "6s"];
    const member = (name: string, ...extra: string[]) => sink([...common, "--data-dir", join(work, `member-${name}`), ...extra]);
    const producing = produceWhileRunning(topic, "m");
    const cleanStops: Awaited<ReturnType<Sink["stop"]>>[] = [];
    const began = Date.now();
    const at = (what: string) => debug(`${((Date.now() - began) / 1000).toFixed(1)}s ${what}`);

    const a = member("a");
    await until("a's first batch", () => batchesWritten(a) > 0, 30_000, a);
    const b = member("b"); // joins
    await until("b's first batch", () => batchesWritten(b) > 0, 30_000, b);
    at("a and b");
    const c = member("c", "--crash-at", "in-commit:4"); // joins, then dies inside a batch's transaction
    expect(await exitOf(c, 60_000)).toBe("SIGKILL");
    at("c killed in a commit");
    cleanStops.push(await b.stop()); // leaves
    at("b left");
    await Bun.sleep(1500);
    a.proc.kill("SIGKILL"); // dies wherever it is
    await a.proc.exited;
    at("a killed");
    const b2 = member("b"); // rejoins
    const c2 = member("c", "--crash-at", "after-commit:3"); // rejoins, dies between the catalog's commit and Kafka's
    expect(await exitOf(c2, 60_000)).toBe("SIGKILL");
    at("c killed after a commit");
    const a2 = member("a"); // rejoins
    await until("a's first batch after rejoining", () => batchesWritten(a2) > 0, 60_000, a2);
    at("a rejoined");
    const produced = await producing.stop();
    await waitCommittedToEnd(kafka, group, topic, 90_000);
    at("committed to the end");
    cleanStops.push(await a2.stop(), await b2.stop());
    for (const s of cleanStops) expect({ code: s.code, errors: errorLines(s.stderr) }).toEqual({ code: 0, errors: [] });

    await expectLakeAndTable(lake.at, produced);
    expect(await committedOffsets(kafka, group, topic)).toEqual(await endOffsets(kafka, topic));
    // Every member wrote batches (each process is a writer of its own), and no offset range twice.
    const snapshots = await batchSnapshots(lake.at);
    expect(new Set(snapshots.map((s) => s.author)).size).toBeGreaterThanOrEqual(5);
    const ranges = snapshots.flatMap((s) => s.ranges).sort((x, y) => x.partition - y.partition || x.first - y.first);
    for (let i = 1; i < ranges.length; i++) if (ranges[i]!.partition === ranges[i - 1]!.partition) expect(ranges[i]!.first).toBe(ranges[i - 1]!.last + 1);
  }, 180_000);

  test("PostgreSQL killed (SIGKILL) and restarted while a sink commits: the sink rides out each outage", async () => {
    const topic = uniqueName("faults-pg");
    const group = uniqueName("g");
    const lake = await newLake(ownPg, "pgkill");
    await createTestTopic(kafka, topic, 3);
    const producing = produceWhileRunning(topic, "p");
    // Batches of up to 300 records: those past the inlining limit write Parquet files to S3 inside the transaction.
    const args = ["--topic", topic, "--group", group, "--data-dir", join(work, "pgkill"), ...lake.args, "--max-records", "300", "--interval", "200ms"];
    let s = sink(args);
    const logs: string[] = [];
    const began = Date.now();
    const at = (what: string) => debug(`${((Date.now() - began) / 1000).toFixed(1)}s ${what} (batches ${batchesWritten(s)})`);
    const alive = () => s.proc.exitCode === null && s.proc.signalCode === null;
    /**
     * The sink must still run. One exception, restarted as a supervisor would: DuckDB 1.5.5's
     * ducklake extension can fail with an internal error when the catalog's server dies under a
     * statement ("Attempted to access index 0 within vector of size 0", duckdb/duckdb-postgres#577),
     * after which that DuckDB instance refuses every statement — or it aborts the process.
     */
    const restarts: string[] = [];
    const stillRunning = async () => {
      if (alive()) return;
      await s.proc.exited;
      const errors = errorLines(s.stderr());
      // …or DuckDB's native code brings the process down itself (SIGABRT: seen once in CI right
      // after a server kill). This test never signals the sink, so any signal is DuckDB's.
      const crashed = s.proc.signalCode !== null;
      const invalidated = errors.length > 0 && errors.every((l) => /database has been invalidated|INTERNAL Error/.test(l));
      if ((crashed || invalidated) && restarts.length < 3) {
        restarts.push(crashed ? String(s.proc.signalCode) : errors[0]!);
        console.log(`lake-faults: the sink stopped on DuckDB's ${crashed ? `crash (${s.proc.signalCode})` : "invalidated instance"} after a PostgreSQL kill; restarted (${restarts.length})`);
        logs.push(s.stderr());
        at("the sink stopped on DuckDB's invalidated instance: restarted");
        s = sink(args);
        return;
      }
      expect({ alive: false, exit: s.proc.exitCode ?? s.proc.signalCode, log: notable(s.stderr()) }).toEqual({ alive: true, exit: null, log: [] });
    };
    for (const outageMs of [1000, 3000, 6000]) {
      const before = batchesWritten(s);
      await until("batches committed", () => !alive() || batchesWritten(s) >= before + 3, 60_000, s);
      await stillRunning();
      await ownPg.kill();
      at("postgres killed");
      await Bun.sleep(outageMs);
      await ownPg.start();
      at("postgres back");
      await stillRunning();
    }
    const produced = await producing.stop();
    const ends = await endOffsets(kafka, topic);
    const committedToEnd = async () => [...(await committedOffsets(kafka, group, topic))].every(([p, o]) => o >= ends.get(p)!);
    await until("committed to the end", async () => !alive() || (await committedToEnd()), 120_000, s);
    await stillRunning();
    if (!(await committedToEnd())) await waitCommittedToEnd(kafka, group, topic, 120_000);
    const stopped = await s.stop();
    logs.push(stopped.stderr);
    expect({ code: stopped.code, errors: errorLines(stopped.stderr) }).toEqual({ code: 0, errors: [] });
    // Each outage met a commit (or the next one waited for the server): tried again, not given up.
    expect(logs.join("").match(/the batch's commit failed; trying again|the batch committed after all/g)?.length ?? 0).toBeGreaterThan(0);
    debug("restarts on DuckDB's invalidated instance:", restarts);
    await expectLakeAndTable(lake.at, produced);
    expect(await committedOffsets(kafka, group, topic)).toEqual(await endOffsets(kafka, topic));
  }, 180_000);

  test("a zombie: a member paused (SIGSTOP) past its session timeout with a batch open, its partitions taken over, then resumed (SIGCONT), commits nothing", async () => {
    const topic = uniqueName("faults-zombie");
    const group = uniqueName("g");
    const lake = await newLake(sharedPostgres, "zombie");
    await createTestTopic(kafka, topic, 6);
    const common = ["--topic", topic, "--group", group, ...lake.args, "--max-records", "50", "--interval", "200ms", "--session-timeout", "6s"];
    const producing = produceWhileRunning(topic, "z");
    const a = sink([...common, "--data-dir", join(work, "zombie-a")]);
    await until("a's first batch", () => batchesWritten(a) > 0, 30_000, a);
    // Only a has written so far: its writer is the author of every snapshot.
    const aWriter = (await batchSnapshots(lake.at))[0]!.author;
    const b = sink([...common, "--data-dir", join(work, "zombie-b")]);
    await until("b's first batch", () => batchesWritten(b) > 0, 30_000, b);
    const aBatches = batchesWritten(a);
    await until("a's batches after b joined", () => batchesWritten(a) >= aBatches + 3, 30_000, a);

    // Paused while it holds partitions; records keep coming, so its next batch is open. Not while
    // its commit holds PostgreSQL's locks (then every writer of the catalog waits for it: see
    // pausedInCommit): then it is resumed and paused again.
    let pausedAt = 0;
    for (let tries = 1; ; tries++) {
      process.kill(a.proc.pid, "SIGSTOP");
      pausedAt = Date.now();
      await Bun.sleep(600);
      if (!(await pausedInCommit(sharedPostgres, lake.url))) break;
      debug(`a was paused inside its commit (try ${tries}): resumed, to be paused again`);
      expect(tries).toBeLessThan(8);
      process.kill(a.proc.pid, "SIGCONT");
      await Bun.sleep(200 + Math.random() * 400);
    }
    const atPause = await offsetRows(lake.at, topic);
    const aParts = [...atPause].filter(([, r]) => r.writer === aWriter).map(([p]) => p);
    expect(aParts.length).toBeGreaterThan(0);
    // b takes a's partitions once a's session times out, and commits past a's last offsets.
    await until(
      "b committing past a's last offsets",
      async () => {
        const now = await offsetRows(lake.at, topic);
        return aParts.every((p) => now.get(p)!.writer !== aWriter && now.get(p)!.next > atPause.get(p)!.next);
      },
      60_000,
      b,
    );
    debug(`b took over a's partitions ${aParts} ${Date.now() - pausedAt} ms after the pause`);
    process.kill(a.proc.pid, "SIGCONT");
    // Woken, a finds its partitions moved on: its batch is not committed, and it rejoins the group
    // as a new member (a new writer id), alive.
    await until("a refused and rejoining", () => a.stderr().includes("this member lost a partition to another member") && a.stderr().includes("rejoining the group"), 30_000, a);
    expect(a.proc.exitCode).toBeNull();

    const produced = await producing.stop();
    await waitCommittedToEnd(kafka, group, topic, 60_000);
    const stopped = await b.stop();
    expect({ code: stopped.code, errors: errorLines(stopped.stderr) }).toEqual({ code: 0, errors: [] });
    const aStopped = await a.stop();
    expect({ code: aStopped.code, errors: errorLines(aStopped.stderr) }).toEqual({ code: 0, errors: [] });
    await expectLakeAndTable(lake.at, produced);
    expect(await committedOffsets(kafka, group, topic)).toEqual(await endOffsets(kafka, topic));

    // Nothing by a after b's first commit of one of its partitions (a was paused before it).
    const snapshots = await batchSnapshots(lake.at);
    const takeover = snapshots.find((s) => s.author !== aWriter && s.ranges.some((r) => aParts.includes(r.partition) && r.first >= atPause.get(r.partition)!.next))!;
    expect(takeover).toBeDefined();
    expect(snapshots.filter((s) => s.author === aWriter && s.id > takeover.id)).toEqual([]);
    // Every partition's ranges follow each other, whoever wrote them: no offset twice, none skipped.
    const ranges = snapshots.flatMap((s) => s.ranges).sort((x, y) => x.partition - y.partition || x.first - y.first);
    for (let i = 1; i < ranges.length; i++) if (ranges[i]!.partition === ranges[i - 1]!.partition) expect(ranges[i]!.first).toBe(ranges[i - 1]!.last + 1);
  }, 120_000);
});
