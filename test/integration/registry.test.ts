/**
 * Schema Registry framing both ways, against Confluent's own serdes (@confluentinc/schemaregistry):
 * what ferry generate / serve / export produce, Confluent's JsonDeserializer (validating) reads;
 * what Confluent's JsonSerializer produces, ferry consume and ferry sink read and validate.
 * The registry is test/helpers/registry-server.ts (see there why no real one runs here).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonDeserializer, JsonSerializer, SchemaRegistryClient, SerdeType } from "@confluentinc/schemaregistry";
import { fullFormats } from "ajv-formats/dist/formats";
import { createKafka } from "../../src/kafka/client.ts";
import { framer } from "../../src/kafka/registry.ts";
import { registrySchemaOf } from "../../src/schema/json-schema.ts";
import { OrderSchema } from "../../src/schema/order.ts";
import { testCassandraClient } from "../helpers/cassandra.ts";
import { order, postOrders, runFerry as ferry, startFerry } from "../helpers/ferry-process.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { startRegistryServer, type RegistryServer } from "../helpers/registry-server.ts";
import { SERVER_HOOK_TIMEOUT, TEST_BROKERS, TEST_CASSANDRA, TEST_CASSANDRA_LOGIN, uniqueName } from "../helpers/servers.ts";
import { readTable, runSink } from "../helpers/sink.ts";
import { produceTo, readTopic } from "../helpers/topic-reader.ts";

const kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
const work = mkdtempSync(join(tmpdir(), "ferry-registry-test-"));
let registry: RegistryServer;
let confluent: SchemaRegistryClient;
/** Confluent's JS serdes hand their config to ajv, which (strict) refuses formats it was not given: a user gives them. */
const serdeConfig = { validate: true, formats: fullFormats };

beforeAll(() => {
  registry = startRegistryServer({ basicAuth: "ferry:s3cret" });
  confluent = new SchemaRegistryClient({ baseURLs: [registry.url], basicAuthCredentials: { credentialsSource: "USER_INFO", userInfo: "ferry:s3cret" } });
});
afterAll(() => {
  registry.stop();
  rmSync(work, { recursive: true, force: true });
});

const registryUrl = () => registry.url.replace("http://", "http://ferry:s3cret@");

/** Every message decoded by Confluent's validating JsonDeserializer, checked against the JSON after the 5-byte header. */
async function confluentReads(topic: string) {
  const deserializer = new JsonDeserializer(confluent, SerdeType.VALUE, serdeConfig);
  const out: unknown[] = [];
  for (const m of await readTopic(kafka, topic)) {
    expect(m.raw[0]).toBe(0);
    const value = await deserializer.deserialize(topic, m.raw);
    expect(value).toEqual(JSON.parse(m.raw.subarray(5).toString("utf8")));
    out.push(value);
  }
  return out;
}

describe("schema registry", () => {
  test("ferry generate registers <topic>-value (JSON) and frames values; Confluent's deserializer reads them all", async () => {
    const topic = uniqueName("reg-gen");
    const r = await ferry(["generate", "--kind", "cars", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--count", "200", "--seed", "3", "--schema-registry", registryUrl()]);
    expect(r.code).toBe(0);
    expect(registry.subjects()).toContain(`${topic}-value`);
    const latest = await confluent.getLatestSchemaMetadata(`${topic}-value`);
    expect(latest.schemaType).toBe("JSON");
    expect(JSON.parse(latest.schema!).title).toBe("Car");
    const cars = (await confluentReads(topic)) as { id: number; make: string; year: number }[];
    expect(cars.length).toBe(200);
    expect(new Set(cars.map((c) => c.id)).size).toBe(200);
  }, 60_000);

  test("ferry serve frames orders; Confluent's deserializer validates prices such as 19.99", async () => {
    const topic = uniqueName("reg-serve");
    const f = await startFerry(["serve", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--port", "0", "--schema-registry", registryUrl()]);
    try {
      const orders = Array.from({ length: 20 }, (_, i) => order(`s${i}`, { price: 19.99 + i }));
      expect((await postOrders(f.url, orders)).status).toBe(202);
    } finally {
      expect(await f.stop()).toBe(0);
    }
    const got = (await confluentReads(topic)) as { order_id: string; price: number }[];
    expect(got.map((o) => o.order_id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `s${i}`).sort());
  }, 60_000);

  test("Confluent's serializer → ferry consume and ferry sink; a framed value that breaks its schema is reported / dead-lettered", async () => {
    const topic = uniqueName("reg-in");
    const subject = `${topic}-value`;
    const id = await confluent.register(subject, { schemaType: "JSON", schema: JSON.stringify(registrySchemaOf(OrderSchema)) });
    const serializer = new JsonSerializer(confluent, SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false, ...serdeConfig });
    const good = Array.from({ length: 30 }, (_, i) => ({ ...order(`c${i}`), price: 10.01 * (i + 1), ordered_at: "2026-11-21T10:00:00Z" }));
    const values = [];
    for (const o of good) values.push({ key: o.order_id, value: await serializer.serialize(topic, o) });
    // Confluent's serializer refuses an invalid record; framed by hand with the same id, it reaches the topic.
    await expect(serializer.serialize(topic, { order_id: "bad", product: "p", quantity: "many", price: 1 })).rejects.toThrow();
    values.splice(10, 0, { key: "bad", value: framer(id)(JSON.stringify({ order_id: "bad", product: "p", quantity: "many", price: 1 })) });
    await produceTo(kafka, topic, values);

    const c = await ferry(["consume", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--from-beginning", "--max", "30", "--schema-registry", registryUrl()]);
    expect(c.code).toBe(0);
    expect(c.out.trim().split("\n").map((l) => JSON.parse(l))).toEqual(good);
    expect(c.err).toMatch(new RegExp(`"msg":"record not printed".*"offset":"10".*does not match schema ${id}: /quantity must be integer`));

    const dataDir = join(work, "sink");
    const s = await runSink(["--brokers", TEST_BROKERS.join(","), "--topic", topic, "--group", uniqueName("g"), "--data-dir", dataDir, "--until-caught-up", "--schema-registry", registryUrl()]);
    expect(s.code).toBe(0);
    expect((await readTable(dataDir)).map((r) => r.order_id)).toEqual(good.map((o) => o.order_id).sort());
    const dlq = await readTopic(kafka, `${topic}.dlq`);
    expect(dlq.map((m) => m.key)).toEqual(["bad"]);
    expect(dlq[0]!.raw.equals(values[10]!.value as Buffer)).toBe(true);
  }, 90_000);

  test("ferry consume without the registry unwraps the framing; an unknown schema id is reported", async () => {
    const topic = uniqueName("reg-unknown");
    await produceTo(kafka, topic, [{ value: framer(999_999)('{"a":1}') }, { value: framer(999_999)('{"b":2}') }, { value: '{"c":3}' }]);
    const plain = await ferry(["consume", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--from-beginning", "--max", "3"]);
    expect(plain.out).toBe('{"a":1}\n{"b":2}\n{"c":3}\n');
    const checked = await ferry(["consume", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--from-beginning", "--max", "1", "--schema-registry", registryUrl()]);
    expect([checked.code, checked.out]).toEqual([0, '{"c":3}\n']);
    expect(checked.err.match(/"msg":"record not printed".*schema id 999999 is not in the registry/g)?.length).toBe(2);
  }, 60_000);

  test("ferry export registers the schema derived from the table; Confluent's deserializer validates every row", async () => {
    const client = testCassandraClient();
    const keyspace = uniqueName("regexp").replaceAll("-", "_");
    try {
      await client.connect();
      await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      await client.execute(`CREATE TABLE ${keyspace}.t (id uuid PRIMARY KEY, n bigint, d decimal, f double, at timestamp, tags set<text>, m map<int, text>, b blob, tm time, du duration)`);
      await client.execute(`INSERT INTO ${keyspace}.t (id, n, d, f, at, tags, m, b, tm, du) VALUES (uuid(), 9223372036854775807, 1.50, NaN, '2026-01-01 00:00:00+0000', {'x'}, {1: 'one'}, 0x00, '01:02:03', 3d)`);
      await client.execute(`INSERT INTO ${keyspace}.t (id) VALUES (uuid())`);
      const topic = uniqueName("reg-export");
      const r = await ferry(["export", "--cassandra", TEST_CASSANDRA.join(","), "--username", TEST_CASSANDRA_LOGIN.username, "--password", TEST_CASSANDRA_LOGIN.password,
        "--keyspace", keyspace, "--table", "t", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--schema-registry", registryUrl()]);
      expect(r.code).toBe(0);
      const latest = await confluent.getLatestSchemaMetadata(`${topic}-value`);
      expect(JSON.parse(latest.schema!).required.sort()).toEqual(["at", "b", "d", "du", "f", "id", "m", "n", "tags", "tm"]);
      const rows = (await confluentReads(topic)) as Record<string, unknown>[];
      expect(rows.length).toBe(2);
      expect(rows.find((x) => x.n !== null)).toMatchObject({ d: "1.50", f: "NaN", tags: ["x"], m: { 1: "one" }, b: "AA==", tm: "01:02:03", du: "P3D" });
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
      await client.shutdown();
    }
  }, 90_000);
});
