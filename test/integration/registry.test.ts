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
import { expectSuccess, order, postOrders, runFerry as ferry, startFerry } from "../helpers/ferry-process.ts";
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
      // Prices of exact cents (19.99 + 13 in floating point is 32.989999999999995, which ferry refuses: it is not 32.99).
      const orders = Array.from({ length: 20 }, (_, i) => order(`s${i}`, { price: Math.round((19.99 + i) * 100) / 100 }));
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

describe("schema registry, as a real one behaves", () => {
  const generate = (url: string, topic: string, extra: string[] = []) =>
    ferry(["generate", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--count", "50", "--seed", "5", "--schema-registry", url, ...extra], 90_000);

  test("answering 500 while it elects a primary: retried up to --registry-timeout (30 s by default), then one clear error", async () => {
    const starting = startRegistryServer({ unavailableForMs: 7000 });
    try {
      const ok = await generate(starting.url, uniqueName("reg-starting"));
      expectSuccess(ok);
      expect(starting.requests.filter((r) => r.startsWith("POST")).length).toBeGreaterThan(2);
    } finally {
      starting.stop();
    }
    const stuck = startRegistryServer({ unavailableForMs: 60_000 });
    try {
      const t0 = Date.now();
      const failed = await generate(stuck.url, uniqueName("reg-stuck"), ["--registry-timeout", "2s"]);
      expect(failed.code).toBe(1);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(failed.err).toMatch(/schema registry: POST .* failed: 500 .*tried for \d+\.\d s; --registry-timeout/);
    } finally {
      stuck.stop();
    }
  }, 120_000);

  test("refusing connections until it listens: retried, and the run succeeds once it is up", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const topic = uniqueName("reg-late");
    const run = generate(`http://127.0.0.1:${port}`, topic);
    await Bun.sleep(3000);
    const late = startRegistryServer({ port });
    try {
      const r = await run;
      expectSuccess(r);
      expect(late.subjects()).toEqual([`${topic}-value`]);
    } finally {
      late.stop();
    }
  }, 120_000);

  test("a subject holding another compatible schema (409 on register): --no-registry-auto-register --registry-use-latest writes with it", async () => {
    const topic = uniqueName("reg-latest");
    const subject = `${topic}-value`;
    const strict = startRegistryServer({ incompatible: [subject] });
    const client = new SchemaRegistryClient({ baseURLs: [strict.url] });
    try {
      // Someone else's schema for the subject: the order schema, plus an optional field ferry does not know.
      const theirs = registrySchemaOf(OrderSchema) as { properties: Record<string, unknown> };
      const id = await client.register(subject, { schemaType: "JSON", schema: JSON.stringify({ ...theirs, properties: { ...theirs.properties, note: { type: "string" } } }) });

      const refused = await generate(strict.url, topic);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/refused \(409\).*--no-registry-auto-register --registry-use-latest/);

      const r = await generate(strict.url, topic, ["--no-registry-auto-register", "--registry-use-latest"]);
      expectSuccess(r);
      expect(strict.requests.filter((q) => q === `POST /subjects/${subject}/versions`).length).toBe(2); // theirs, and the refused run's
      const messages = await readTopic(kafka, topic);
      expect(messages.length).toBe(50);
      for (const m of messages) expect(m.raw.readUInt32BE(1)).toBe(id);
      const deserializer = new JsonDeserializer(client, SerdeType.VALUE, serdeConfig);
      for (const m of messages) expect(await deserializer.deserialize(topic, m.raw)).toEqual(JSON.parse(m.raw.subarray(5).toString()));
    } finally {
      strict.stop();
    }
  }, 120_000);

  test("--no-registry-auto-register alone: ferry's schema must already be under the subject; it is looked up, never registered", async () => {
    const topic = uniqueName("reg-lookup");
    const subject = `${topic}-value`;
    const r1 = await generate(registryUrl(), topic, ["--no-registry-auto-register"]);
    expect(r1.code).toBe(1);
    expect(r1.err).toMatch(/not registered under subject .*--no-registry-auto-register forbids registering it/);
    expect(registry.subjects()).not.toContain(subject);

    const id = await confluent.register(subject, { schemaType: "JSON", schema: JSON.stringify(registrySchemaOf(OrderSchema)) });
    const before = registry.requests.length;
    const r2 = await generate(registryUrl(), topic, ["--no-registry-auto-register"]);
    expectSuccess(r2);
    expect(registry.requests.slice(before).filter((q) => q.endsWith("/versions"))).toEqual([]);
    for (const m of await readTopic(kafka, topic)) expect(m.raw.readUInt32BE(1)).toBe(id);
  }, 120_000);
});
