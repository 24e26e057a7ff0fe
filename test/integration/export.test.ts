/**
 * `ferry export` from the real Cassandra into the real Kafka: every CQL type as exact JSON, a
 * 100k-row table in parallel ranges exactly once, kill -9 and resume from the checkpoint, and
 * one clear line for each bad setting.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { concurrent, types } from "cassandra-driver";
import { RINGS, splitRing } from "../../src/cassandra/token-ranges.ts";
import { createKafka } from "../../src/kafka/client.ts";
import { testCassandraClient } from "../helpers/cassandra.ts";
import { runFerry } from "../helpers/ferry-process.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { SERVER_HOOK_TIMEOUT, TEST_BROKERS, TEST_CASSANDRA, TEST_CASSANDRA_LOGIN, uniqueName } from "../helpers/servers.ts";
import { readTopic } from "../helpers/topic-reader.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
const keyspace = uniqueName("export").replaceAll("-", "_");
const work = mkdtempSync(join(tmpdir(), "ferry-export-test-"));
const ROWS = 100_000;
const LOGIN = ["--username", TEST_CASSANDRA_LOGIN.username, "--password", TEST_CASSANDRA_LOGIN.password];
const client = testCassandraClient();

beforeAll(async () => {
  await client.connect();
  await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  await client.execute(`CREATE TABLE ${keyspace}.many (id int PRIMARY KEY, name text, amount decimal, at timestamp)`);
  const rows = Array.from({ length: ROWS }, (_, i) => [i, `name ${i}`, types.BigDecimal.fromString(`${i}.${i % 100}`), new Date(1_700_000_000_000 + i)]);
  await concurrent.executeConcurrent(client, `INSERT INTO ${keyspace}.many (id, name, amount, at) VALUES (?, ?, ?, ?)`, rows, { concurrencyLevel: 256 });
}, 120_000);

afterAll(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
  await client.shutdown();
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

/** `export` with the test servers, the login and the keyspace (a --cassandra in `args` replaces the test one). */
const exportArgs = (args: string[]) => [
  "export",
  ...(args.includes("--cassandra") ? [] : ["--cassandra", TEST_CASSANDRA.join(",")]),
  ...LOGIN,
  "--keyspace",
  keyspace,
  "--brokers",
  TEST_BROKERS.join(","),
  ...args,
];

const spawnExport = (args: string[]) => Bun.spawn([process.execPath, MAIN, ...exportArgs(args)], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });

async function runExport(args: string[]) {
  const { code, err } = await runFerry(exportArgs(args), 90_000);
  const rows = Number(/"msg":"exported".*?"rows":(\d+)/.exec(err)?.[1] ?? -1);
  return { code, err, rows };
}

describe("ferry export", () => {
  test("every CQL type: Cassandra row → Kafka JSON, exactly", async () => {
    await client.execute(`CREATE TYPE ${keyspace}.address (street text, zip int, tags frozen<set<text>>)`);
    await client.execute(
      `CREATE TABLE ${keyspace}.every (id int, part text, seq int, t_ascii ascii, t_text text, t_varchar varchar, t_int int, t_bigint bigint,
        t_smallint smallint, t_tinyint tinyint, t_varint varint, t_decimal decimal, t_float float, t_double double, t_boolean boolean,
        t_uuid uuid, t_timeuuid timeuuid, t_timestamp timestamp, t_date date, t_time time, t_duration duration, t_inet inet, t_blob blob,
        t_list list<int>, t_set set<text>, t_map map<text, double>, t_map_int map<int, frozen<list<text>>>, t_tuple tuple<int, text, boolean>,
        t_udt frozen<address>, t_vector vector<float, 3>, PRIMARY KEY ((id, part), seq))`,
    );
    await client.execute(`CREATE TABLE ${keyspace}.counts (id text PRIMARY KEY, hits counter)`);
    const cols = "id, part, seq, t_ascii, t_text, t_varchar, t_int, t_bigint, t_smallint, t_tinyint, t_varint, t_decimal, t_float, t_double, t_boolean, t_uuid, t_timeuuid, t_timestamp, t_date, t_time, t_duration, t_inet, t_blob, t_list, t_set, t_map, t_map_int, t_tuple, t_udt, t_vector";
    await client.execute(
      `INSERT INTO ${keyspace}.every (${cols}) VALUES (1, 'a', 1, 'plain', 'Ünïcødé "quoted"\n line', 'v', -2147483648, 9223372036854775807,
        32767, -128, -123456789012345678901234567890, 12345678901234567890.123456789, 1.1, -2.5e-300, true,
        123e4567-e89b-12d3-a456-426614174000, 50554d6e-29bb-11e5-b345-feff819cdc9f, '2024-02-29 23:59:59.999+0000', '1969-07-20',
        '13:45:07.123456789', 1y2mo3w4d5h6m7s8ms9us10ns, '2001:db8::1', 0xcafe00, [3, 1, 3], {'b', 'a'}, {'y': 2.0, 'x': 1.5},
        {10: ['p', 'q'], 2: []}, (7, 'seven', false), {street: 'Main St', zip: 12345, tags: {'home'}}, [1.5, 2.25, 3.1])`,
    );
    await client.execute(`INSERT INTO ${keyspace}.every (id, part, seq) VALUES (2, 'b', 0)`);
    await client.execute(
      `INSERT INTO ${keyspace}.every (id, part, seq, t_bigint, t_varint, t_decimal, t_float, t_double, t_duration, t_time, t_inet, t_timestamp, t_tuple, t_udt)
       VALUES (-3, 'c"q', 2, -9223372036854775808, 0, 1E+3, -Infinity, NaN, -5m, '00:00:00.120', '127.0.0.1', '1900-01-01 00:00:00+0000', (null, 'n', null), {street: 'x'})`,
    );
    await client.execute(`UPDATE ${keyspace}.counts SET hits = hits + 9007199254740993 WHERE id = 'big'`);

    const topic = uniqueName("export-every");
    const r = await runExport(["--table", "every", "--topic", topic]);
    expect(r.err).toContain('"msg":"exported"');
    expect([r.code, r.rows]).toEqual([0, 3]);
    // Expected JSON fragments per column; the value lists partition key, clustering columns, then the rest by name.
    const others = cols.split(", ").slice(3).sort();
    const row = (key: Record<string, string>, values: Record<string, string>) =>
      `{${Object.entries(key).map(([c, j]) => `"${c}":${j}`).join(",")},${others.map((c) => `"${c}":${values[c] ?? "null"}`).join(",")}}`;
    const expected = new Map([
      [
        '[1,"a"]',
        row(
          { id: "1", part: '"a"', seq: "1" },
          {
            t_ascii: '"plain"', t_text: '"Ünïcødé \\"quoted\\"\\n line"', t_varchar: '"v"', t_int: "-2147483648", t_bigint: "9223372036854775807",
            t_smallint: "32767", t_tinyint: "-128", t_varint: '"-123456789012345678901234567890"', t_decimal: '"12345678901234567890.123456789"',
            t_float: "1.1", t_double: "-2.5e-300", t_boolean: "true", t_uuid: '"123e4567-e89b-12d3-a456-426614174000"',
            t_timeuuid: '"50554d6e-29bb-11e5-b345-feff819cdc9f"', t_timestamp: '"2024-02-29T23:59:59.999Z"', t_date: '"1969-07-20"',
            t_time: '"13:45:07.123456789"', t_duration: '"P1Y2M25DT5H6M7.008009010S"', t_inet: '"2001:db8::1"', t_blob: '"yv4A"',
            t_list: "[3,1,3]", t_set: '["a","b"]', t_map: '{"x":1.5,"y":2}', t_map_int: '{"2":[],"10":["p","q"]}', t_tuple: '[7,"seven",false]',
            t_udt: '{"street":"Main St","zip":12345,"tags":["home"]}', t_vector: "[1.5,2.25,3.1]",
          },
        ),
      ],
      ['[2,"b"]', row({ id: "2", part: '"b"', seq: "0" }, {})],
      [
        '[-3,"c\\"q"]',
        row(
          { id: "-3", part: '"c\\"q"', seq: "2" },
          {
            t_bigint: "-9223372036854775808", t_varint: '"0"', t_decimal: '"1000"', t_float: '"-Infinity"', t_double: '"NaN"', t_duration: '"-PT5M"',
            t_time: '"00:00:00.120"', t_inet: '"127.0.0.1"', t_timestamp: '"1900-01-01T00:00:00.000Z"', t_tuple: '[null,"n",null]',
            t_udt: '{"street":"x","zip":null,"tags":null}',
          },
        ),
      ],
    ]);
    const got = await readTopic(kafka, topic);
    expect(new Map(got.map((m) => [m.key, m.value]))).toEqual(expected);
    for (const m of got) expect(() => JSON.parse(m.value)).not.toThrow();

    const counts = uniqueName("export-counts");
    expect((await runExport(["--table", "counts", "--topic", counts])).code).toBe(0);
    expect((await readTopic(kafka, counts)).map((m) => [m.key, m.value])).toEqual([["big", '{"id":"big","hits":9007199254740993}']]);
  }, 120_000);

  test(`${ROWS} rows in parallel token ranges: each row exactly once, keyed by its partition key`, async () => {
    const topic = uniqueName("export-many");
    const r = await runExport(["--table", "many", "--topic", topic, "--parallel", "4", "--splits", "16", "--page-size", "2000"]);
    expect([r.code, r.rows]).toEqual([0, ROWS]);
    const got = await readTopic(kafka, topic);
    expect(got.length).toBe(ROWS);
    const ids = new Set<number>();
    for (const m of got) {
      const row = JSON.parse(m.value) as { id: number; name: string; amount: string; at: string };
      expect(m.key).toBe(String(row.id));
      expect(row.name).toBe(`name ${row.id}`);
      expect(row.amount).toBe(`${row.id}.${String(row.id % 100)}`);
      ids.add(row.id);
    }
    expect(ids.size).toBe(ROWS);
  }, 120_000);

  test("kill -9, then resume from --checkpoint: finished ranges are not sent again, every row arrives", async () => {
    const topic = uniqueName("export-resume");
    const checkpoint = join(work, "resume.json");
    const splits = 40;
    const args = ["--table", "many", "--topic", topic, "--parallel", "2", "--splits", String(splits), "--page-size", "500", "--checkpoint", checkpoint];
    const p = spawnExport(args);
    const doneAtKill = await (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (existsSync(checkpoint)) {
          const done = (JSON.parse(readFileSync(checkpoint, "utf8")) as { done: number[] }).done;
          if (done.length >= 5) {
            p.kill("SIGKILL");
            await p.exited;
            return (JSON.parse(readFileSync(checkpoint, "utf8")) as { done: number[] }).done;
          }
        }
        if (Date.now() > deadline) throw new Error("the export did not finish 5 ranges");
        await Bun.sleep(5);
      }
    })();
    expect(p.signalCode).toBe("SIGKILL");
    expect(doneAtKill.length).toBeLessThan(splits);

    const again = await runExport(args);
    expect(again.err).toContain('"msg":"resuming from checkpoint"');
    expect(again.code).toBe(0);
    const third = await runExport(args);
    expect(third.code).toBe(0);
    expect(third.err).toContain("nothing to export");

    // Which range each row's token falls in.
    const ranges = splitRing(RINGS["org.apache.cassandra.dht.Murmur3Partitioner"]!, splits);
    const rangeOf = (token: bigint) => ranges.find((r) => token > r.start && token <= r.end)!.index;
    const rangeById = new Map<number, number>();
    let pageState: string | undefined;
    do {
      const page = await client.execute(`SELECT id, token(id) AS t FROM ${keyspace}.many`, [], { prepare: true, fetchSize: 10_000, pageState });
      for (const row of page.rows) rangeById.set(row.id as number, rangeOf(BigInt(String(row.t))));
      pageState = page.pageState ?? undefined;
    } while (pageState);
    const seen = new Map<number, number>();
    for (const m of await readTopic(kafka, topic)) seen.set(Number(m.key), (seen.get(Number(m.key)) ?? 0) + 1);
    expect(seen.size).toBe(ROWS);
    const finished = new Set(doneAtKill);
    let inFinished = 0;
    for (const [id, n] of seen) {
      if (finished.has(rangeById.get(id)!)) {
        inFinished++;
        expect(n).toBe(1);
      }
    }
    expect(inFinished).toBeGreaterThan(0);
    const resentRows = [...rangeById.values()].filter((r) => !finished.has(r)).length;
    expect(again.rows).toBe(resentRows);
  }, 180_000);

  describe("bad settings: one clear line, exit code 1, nothing sent", () => {
    const expectOneLine = async (args: string[], pattern: RegExp) => {
      const topic = uniqueName("export-bad");
      const r = await runExport([...args, "--topic", topic]);
      expect(r.code).toBe(1);
      const lastLine = r.err.trim().split("\n").at(-1)!;
      expect(lastLine).toMatch(pattern);
      const admin = kafka.admin();
      await admin.connect();
      expect(await admin.listTopics()).not.toContain(topic);
      await admin.disconnect();
    };
    test("Cassandra unreachable", () => expectOneLine(["--table", "many", "--cassandra", "127.0.0.1:1"], /^ferry: cassandra: cannot connect to .*127\.0\.0\.1:1/), 60_000);
    test("wrong credentials", () => expectOneLine(["--table", "many", "--password", "wrong"], /^ferry: cassandra: cannot connect .*authentication failed/i), 60_000);
    test("keyspace missing", () => expectOneLine(["--table", "many", "--keyspace", "no_such_ks"], /^ferry: cassandra: keyspace "no_such_ks" does not exist/), 60_000);
    test("table missing", () => expectOneLine(["--table", "nope"], /^ferry: cassandra: table "[a-z0-9_]+\.nope" does not exist/), 60_000);
    test("unknown column", () => expectOneLine(["--table", "many", "--columns", "id,colour"], /^ferry: cassandra: table \S+ has no column "colour" \(columns: id, /), 60_000);
  });
});
