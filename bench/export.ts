/**
 * bench/export: `ferry export` of a 1,000,000-row Cassandra table (order-like rows) into Kafka
 * (6 partitions, acks=all), with --parallel 1, 4 and 8, from process start to exit. Reference in
 * the same run: Kafka's ProducerPerformance sending records of the same average size to the same
 * broker. The table is loaded once (keyspace ferry_bench) and kept for later runs.
 *   bun bench/export.ts [rows]
 */
import { auth, Client, concurrent, types } from "cassandra-driver";
import { BROKERS as brokers, createTopic, ensureService, FERRY_BIN as bin, kafkaTool, round, run, writeResult } from "./lib.ts";

const rows = Number(process.argv[2] ?? 1_000_000);
const stamp = Date.now().toString(36);
const login = { username: "cassandra", password: "cassandra" };
const table = `ferry_bench.orders_${rows}`;

const stopKafka = ensureService("kafka");
const stopCassandra = ensureService("cassandra");
const client = new Client({
  contactPoints: ["127.0.0.1:9042"],
  localDataCenter: "datacenter1",
  authProvider: new auth.PlainTextAuthProvider(login.username, login.password),
  protocolOptions: { maxVersion: types.protocolVersion.v4 },
  socketOptions: { readTimeout: 120_000 },
});
try {
  await client.connect();
  await client.execute("CREATE KEYSPACE IF NOT EXISTS ferry_bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
  await client.execute(`CREATE TABLE IF NOT EXISTS ${table} (order_id text PRIMARY KEY, product text, quantity int, price decimal, customer_id text, ordered_at timestamp)`);
  await client.execute("CREATE TABLE IF NOT EXISTS ferry_bench.loaded (name text PRIMARY KEY, rows bigint)");
  const loaded = (await client.execute("SELECT rows FROM ferry_bench.loaded WHERE name = ?", [table], { prepare: true })).first();
  if (!loaded || Number(loaded.get("rows")) !== rows) {
    const t0 = performance.now();
    const values = function* () {
      for (let i = 0; i < rows; i++) {
        yield [`o-${i}`, `product ${i % 500}`, 1 + (i % 9), types.BigDecimal.fromString(`${(i % 10_000) + 1}.${String(i % 100).padStart(2, "0")}`), `c-${i % 50_000}`, new Date(1_760_000_000_000 + i * 1000)];
      }
    };
    await concurrent.executeConcurrent(client, `INSERT INTO ${table} (order_id, product, quantity, price, customer_id, ordered_at) VALUES (?, ?, ?, ?, ?, ?)`, [...values()], { concurrencyLevel: 512 });
    await client.execute("INSERT INTO ferry_bench.loaded (name, rows) VALUES (?, ?)", [table, rows], { prepare: true });
    console.log(`loaded ${rows} rows into ${table} in ${round((performance.now() - t0) / 1000, 1)} s`);
  }

  const runs: { parallel: number; seconds: number; rows_per_sec: number }[] = [];
  let valueBytes = 0;
  for (const parallel of [1, 4, 8]) {
    const topic = `bench-export-p${parallel}-${stamp}`;
    const t0 = performance.now();
    const { stderr } = run([bin, "export", "--cassandra", "127.0.0.1:9042", "--username", login.username, "--password", login.password, "--keyspace", "ferry_bench",
      "--table", table.split(".")[1]!, "--brokers", brokers, "--topic", topic, "--partitions", "6", "--parallel", String(parallel), "--log-level", "notice"]);
    const seconds = (performance.now() - t0) / 1000;
    const exported = Number(/"msg":"exported".*?"rows":(\d+)/.exec(stderr)?.[1]);
    if (exported !== rows) throw new Error(`expected ${rows} rows exported: ${stderr}`);
    runs.push({ parallel, seconds: round(seconds, 2), rows_per_sec: round(rows / seconds) });
    console.log(`ferry export --parallel ${parallel}: ${rows} rows in ${round(seconds, 2)} s = ${round(rows / seconds)} rows/s`);
    if (!valueBytes) {
      const sample = run([bin, "consume", "--brokers", brokers, "--topic", topic, "--from-beginning", "--max", "1000"]).stdout.trim().split("\n");
      valueBytes = Math.round(sample.reduce((s, l) => s + l.length, 0) / sample.length);
    }
  }
  createTopic(`bench-export-ref-${stamp}`, 6);
  const perf = kafkaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--topic", `bench-export-ref-${stamp}`, "--num-records", String(rows), "--record-size", String(valueBytes), "--throughput", "-1",
    "--producer-props", `bootstrap.servers=${brokers}`, "acks=all", "linger.ms=5", "batch.size=262144",
  ]);
  const refRate = Number(/([\d.]+) records\/sec/.exec(perf.trim().split("\n").filter((l) => l.includes("records/sec")).at(-1)!)![1]);
  const best = Math.max(...runs.map((r) => r.rows_per_sec));
  console.log(`reference: kafka ProducerPerformance ${round(refRate)} records/s (${valueBytes} B, acks=all)`);
  console.log(`best ferry export / ProducerPerformance = ${round(best / refRate, 3)}; target 60000 rows/s: ${best >= 60_000 ? "met" : "MISSED"}`);
  writeResult("export", { rows, value_bytes: valueBytes, runs, best_rows_per_sec: best, reference_producer_perf_records_per_sec: round(refRate), ratio: round(best / refRate, 3), target_rows_per_sec: 60_000 });
} finally {
  await client.shutdown();
  stopCassandra();
  stopKafka();
}
