/** `ferry generate` into the real broker, a running `ferry run`, and the embedded table; files as the source. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openDb } from "../../src/db/duckdb.ts";
import { createKafka } from "../../src/kafka/client.ts";
import { runFerry, startFerry } from "../helpers/ferry-process.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { TEST_BROKERS, uniqueName } from "../helpers/servers.ts";
import { readRunTable } from "../helpers/sink.ts";
import { readTopic } from "../helpers/topic-reader.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const kafka = createKafka({ brokers: TEST_BROKERS, clientId: "ferry-test" }, memoryLogger().log);
const work = mkdtempSync(join(tmpdir(), "ferry-generate-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function generate(args: string[]) {
  const { code, err } = await runFerry(["generate", ...args]);
  const summary = /"msg":"generated".*$/m.exec(err)?.[0] ?? "";
  const n = (k: string) => Number(new RegExp(`"${k}":(\\d+)`).exec(summary)?.[1] ?? -1);
  return { code, err, records: n("records"), accepted: n("accepted"), refused: n("refused") };
}

describe("ferry generate", () => {
  test("into Kafka: --count records, keyed by order id; the same --seed gives the same values", async () => {
    const [t1, t2] = [uniqueName("gen"), uniqueName("gen")];
    for (const topic of [t1!, t2!]) {
      const r = await generate(["--brokers", TEST_BROKERS.join(","), "--topic", topic, "--count", "300", "--seed", "5", "--invalid-ratio", "0.1", "--batch", "64"]);
      expect(r.code).toBe(0);
      expect([r.records, r.accepted]).toEqual([300, 300]);
    }
    const [a, b] = [await readTopic(kafka, t1!), await readTopic(kafka, t2!)];
    expect(a.length).toBe(300);
    expect(a.map((m) => m.value).sort()).toEqual(b.map((m) => m.value).sort());
    const valid = a.filter((m) => !m.value.includes('"coupon"'));
    expect(valid.length).toBeGreaterThan(0);
    for (const m of a) expect(m.key).toMatch(/^o5-\d+$/);
  }, 60_000);

  test("endless until SIGTERM: everything acknowledged is in the topic, nothing more", async () => {
    const topic = uniqueName("gen-endless");
    const p = Bun.spawn([process.execPath, MAIN, "generate", "--brokers", TEST_BROKERS.join(","), "--topic", topic, "--rate", "400"], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    await Bun.sleep(2500);
    p.kill("SIGTERM");
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    expect(code).toBe(0);
    const sent = Number(/"msg":"generated".*?"accepted":(\d+)/.exec(err)?.[1]);
    expect(sent).toBeGreaterThan(100);
    expect((await readTopic(kafka, topic)).length).toBe(sent);
  }, 60_000);

  test("into a running ferry run (--url): valid orders are accepted, the invalid ones refused alone", async () => {
    const dataDir = join(work, "via-url");
    const ferry = await startFerry(["run", "--port", "0", "--data-dir", dataDir]);
    const r = await generate(["--url", ferry.url, "--count", "400", "--invalid-ratio", "0.1", "--batch", "50"]);
    expect(await ferry.stop()).toBe(0);
    expect(r.code).toBe(0);
    expect(r.accepted + r.refused).toBe(400);
    expect(r.refused).toBeGreaterThan(10);
    expect((await readRunTable(dataDir, "SELECT count(*)::INT AS n FROM orders"))[0]).toEqual({ n: r.accepted });
  }, 60_000);

  test("--from CSV, NDJSON and Parquet into the embedded table; --loop replays", async () => {
    const csv = join(work, "orders.csv");
    writeFileSync(csv, "order_id,product,quantity,price,customer_id,ordered_at\nf-1,tea,2,3.50,c1,2026-02-03T04:05:06Z\nf-2,coffee,1,12.00,,2026-02-03T05:00:00Z\nf-3,bad,0,1.00,c3,2026-02-03T06:00:00Z\n");
    const ndjson = join(work, "orders.ndjson");
    writeFileSync(ndjson, ['{"order_id":"n-1","product":"tea","quantity":2,"price":3.5}', '{"order_id":"n-2","product":"cake","quantity":1,"price":4.25,"customer_id":"c9"}', '{"order_id":"n-old","product":"tea","quantity":1,"price":1,"ordered_at":"1500-01-01T00:00:00Z"}'].join("\n"));
    const parquet = join(work, "orders.parquet");
    const db = await openDb(":memory:");
    await db.exec(`COPY (SELECT 'p-' || i AS order_id, 'mug' AS product, i::INT AS quantity, (i * 1.25)::DECIMAL(12,2) AS price, TIMESTAMPTZ '2026-02-03 04:05:06.5+00' AS ordered_at FROM range(1, 4) t(i)) TO '${parquet}' (FORMAT parquet)`);
    db.close();

    const dataDir = join(work, "from-files");
    const fromCsv = await generate(["--from", csv, "--data-dir", dataDir]);
    expect([fromCsv.code, fromCsv.accepted, fromCsv.refused]).toEqual([0, 2, 1]);
    const fromNd = await generate(["--from", ndjson, "--data-dir", dataDir]);
    expect([fromNd.code, fromNd.accepted, fromNd.refused]).toEqual([0, 2, 1]); // n-old: before 1900
    const looped = await generate(["--from", parquet, "--loop", "--count", "7", "--data-dir", dataDir]);
    expect([looped.code, looped.records, looped.accepted]).toEqual([0, 7, 7]);

    const rows = await readRunTable(dataDir, "SELECT order_id, quantity, price::VARCHAR AS price, customer_id, strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') AS at FROM orders WHERE order_id NOT LIKE 'n-%' ORDER BY order_id");
    expect(rows).toEqual([
      { order_id: "f-1", quantity: 2, price: "3.50", customer_id: "c1", at: "2026-02-03T04:05:06.000000" },
      { order_id: "f-2", quantity: 1, price: "12.00", customer_id: null, at: "2026-02-03T05:00:00.000000" },
      { order_id: "p-1", quantity: 1, price: "1.25", customer_id: null, at: "2026-02-03T04:05:06.500000" },
      { order_id: "p-2", quantity: 2, price: "2.50", customer_id: null, at: "2026-02-03T04:05:06.500000" },
      { order_id: "p-3", quantity: 3, price: "3.75", customer_id: null, at: "2026-02-03T04:05:06.500000" },
    ]);
    expect((await readRunTable(dataDir, "SELECT count(*)::INT AS n FROM orders WHERE order_id LIKE 'n-%'"))[0]).toEqual({ n: 2 });
  }, 60_000);

  test("bad settings: one clear line, exit 2", async () => {
    const both = await generate(["--brokers", "k:1", "--url", "http://x"]);
    expect(both.code).toBe(2);
    expect(both.err).toContain("give --brokers or --url, not both");
    const missing = await generate(["--from", join(work, "nope.csv"), "--data-dir", join(work, "x")]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain("cannot read");
  }, 30_000);
});
