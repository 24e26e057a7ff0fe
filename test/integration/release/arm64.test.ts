/**
 * The linux-arm64 release binary, unpacked from its archive, run on this x64 machine under
 * qemu-user (Debian's qemu-user-static, `qemu-aarch64-static` run directly, with Debian's arm64
 * glibc and libstdc++ as its library root): --version, a query on the embedded DuckDB from an
 * empty cache, `ferry run` taking POSTed orders that `ferry query` reads back (through the run's
 * socket, then from the lake after it stopped), and `ferry sink` draining known orders from the
 * real broker on loopback into a lake that this machine's DuckDB reads back exactly.
 * Emulated, each start of the binary costs ~10-20 s: the steps are few and each checks a lot, and
 * the sink runs beside the others.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Kafka } from "kafkajs";
import bindings from "../../../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };
import { createKafka } from "../../../src/kafka/client.ts";
import { qemuAarch64, type Emulator } from "../../helpers/emulators.ts";
import { expectSuccess, postOrders, runFerry, startFerry } from "../../helpers/ferry-process.ts";
import { memoryLogger } from "../../helpers/logger.ts";
import { extractRelease, releaseArchives, VERSION } from "../../helpers/release.ts";
import { TEST_BROKERS, uniqueName } from "../../helpers/servers.ts";
import { endOffsets, expectLakeExact, expectTableExact, type Produced, produceKnown, queryCatalog, readLake, readTable } from "../../helpers/sink.ts";
import { createTestTopic } from "../../helpers/topic-reader.ts";

const TARGET = "linux-arm64";
const DUCKDB_VERSION = bindings.version.replace(/-r\.\d+$/, "");
const EMULATED = 5 * 60_000; // per test: a few emulated starts of a 100+ MB binary on a busy 2-core machine

let release: ReturnType<typeof extractRelease>;
let qemu: Emulator;
let env: Record<string, string>;
const ferry = () => [qemu.command, release.binary];
const run = (args: string[], timeoutMs = 120_000) => runFerry(args, timeoutMs, env, ferry());

beforeAll(async () => {
  [qemu] = await Promise.all([qemuAarch64(), releaseArchives([TARGET])]);
  release = extractRelease(TARGET);
  // A home and cache of its own: the binary starts from nothing written out yet.
  env = { ...qemu.env, HOME: join(release.dir, "home"), XDG_CACHE_HOME: join(release.dir, "cache") };
  mkdirSync(env.HOME!);
  // Emulated starts are slow and this machine has two cores: the sink runs beside the other tests
  // (with a cache of its own, so the query test still starts from an empty one); its test awaits it.
  sinkJob = startSinkJob();
  sinkJob.catch(() => {}); // reported by its test
}, 20 * 60_000);
afterAll(() => release?.cleanup());

const kafka: Kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-release-test" }, memoryLogger().log);
const sinkTopic = uniqueName("release-arm64");
let sinkJob: Promise<{ produced: Produced; dataDir: string; sink: Awaited<ReturnType<typeof runFerry>> }>;

/** Known orders into a new topic, then `ferry sink --until-caught-up` (arm64) over them. */
async function startSinkJob() {
  const dataDir = join(release.dir, "sink-data");
  await createTestTopic(kafka, sinkTopic, 2);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const produced = await produceKnown(producer, sinkTopic, 600);
  await producer.disconnect();
  // Everything is in the topic before the sink starts, so its first batch holds more rows than
  // the catalog inlines: the arm64 DuckDB writes Parquet files.
  const args = ["sink", "--brokers", TEST_BROKERS.join(","), "--topic", sinkTopic, "--group", uniqueName("g"), "--data-dir", dataDir, "--interval", "5s", "--until-caught-up", "--maintain-every", "0"];
  const sink = await runFerry(args, 240_000, { ...env, XDG_CACHE_HOME: join(release.dir, "sink-cache") }, ferry());
  return { produced, dataDir, sink };
}

describe("linux-arm64 under qemu-user", () => {
  test("an aarch64 glibc executable that names its version, target and DuckDB", async () => {
    const elf = Buffer.alloc(64);
    const fd = openSync(release.binary, "r");
    readSync(fd, elf, 0, 64, 0);
    closeSync(fd);
    expect([...elf.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // ELF
    expect(elf[4]).toBe(2); // 64-bit
    expect(new DataView(elf.buffer, elf.byteOffset).getUint16(18, true)).toBe(183); // EM_AARCH64
    const r = await run(["--version"]);
    expectSuccess(r);
    expect(r.out).toStartWith(`ferry ${VERSION}`);
    expect(r.out).toContain(TARGET);
    expect(r.out).toContain(DUCKDB_VERSION);
  }, EMULATED);

  test("query on the embedded DuckDB, from an empty cache", async () => {
    const r = await run(["query", "--format", "csv", "select 42 as answer, version() as duckdb"]);
    expectSuccess(r);
    expect(r.out).toBe(`answer,duckdb\n42,v${DUCKDB_VERSION}\n`);
    expect(existsSync(join(env.XDG_CACHE_HOME!, "ferry"))).toBe(true); // the library was written out there
  }, EMULATED);

  test("run takes POSTed orders; query reads them through its socket, then from the lake once it stopped", async () => {
    const dataDir = join(release.dir, "run-data");
    const server = await startFerry(["run", "--port", "0", "--data-dir", dataDir], env, ferry(), 180_000);
    try {
      const orders = [
        { order_id: "a-1", product: "tea", quantity: 2, price: 3.5 },
        { order_id: "a-2", product: "cake", quantity: 1, price: 4.25, customer_id: "c-9" },
        { order_id: "a-1", product: "tea", quantity: 5, price: 3.5 }, // a later record of a-1 wins in `orders`
      ];
      const res = await postOrders(server.url, orders);
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 202, body: { accepted: 3 } });
      const live = await run(["query", "--data-dir", dataDir, "--format", "csv", "select order_id, quantity, price from orders order by order_id"]);
      expectSuccess(live);
      expect(live.out).toBe("order_id,quantity,price\na-1,5,3.50\na-2,1,4.25\n");
    } finally {
      expect(await server.stop("SIGTERM", 60_000)).toBe(0);
    }
    // Rolled into the lake on exit; reading it loads the embedded ducklake extension (arm64).
    const lake = await run(["query", "--data-dir", dataDir, "--format", "csv", "select order_id, quantity, kafka_offset from lake order by kafka_offset"]);
    expectSuccess(lake);
    expect(lake.out).toBe("order_id,quantity,kafka_offset\na-1,2,0\na-2,1,1\na-1,5,2\n");
  }, EMULATED);

  test("sink: known orders from the real broker (repeats, invalid ones) land exactly once in the lake and the table; dead letters counted", async () => {
    const { produced, dataDir, sink } = await sinkJob;
    expectSuccess(sink);
    expect(sink.err).not.toContain('"level":"error"');

    // Read back on this machine (x64 DuckDB, from source): what the arm64 binary wrote.
    expectLakeExact((await readLake(dataDir)).rows, produced);
    expectTableExact(await readTable(dataDir), produced);
    const files = await queryCatalog(dataDir, "SELECT count(*)::INT AS n FROM ducklake_list_files('ferry_lake', 'lake')");
    expect(files.rows[0]!.n as number).toBeGreaterThan(0);
    expect(readdirSync(join(dataDir, "lake"), { recursive: true }).some((f) => String(f).endsWith(".parquet"))).toBe(true);
    const dlq = [...(await endOffsets(kafka, `${sinkTopic}.dlq`)).values()].reduce((a, b) => a + b, 0);
    expect(dlq).toBe(produced.invalid.length);

    // And by the arm64 binary itself.
    const counts = await run(["query", "--data-dir", dataDir, "--format", "csv", "select (select count(*) from lake) as lake, (select count(*) from orders) as orders"]);
    expectSuccess(counts);
    expect(counts.out).toBe(`lake,orders\n${produced.valid.length},${produced.latest.size}\n`);
  }, EMULATED);
});
