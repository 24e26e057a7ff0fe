/** `ferry run`: the shared HTTP contract over the embedded table, plus the lake and restarts. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataPaths, openDb } from "../../../src/db/duckdb.ts";
import { INLINE_ROWS } from "../../../src/lake/tables.ts";
import { runQuery } from "../../../src/modes/query.ts";
import { expectSuccess, order, postOrders, runFerry, startFerry, waitForInFlight } from "../../helpers/ferry-process.ts";
import { BODY_LIMIT, describeIngressContract, TOKEN } from "./ingress.case.ts";

const newDataDir = () => mkdtempSync(join(tmpdir(), "ferry-run-"));
const runArgs = (dataDir: string, ...extra: string[]) => ["run", "--data-dir", dataDir, "--port", "0", ...extra];

/** Orders by id, read through the running ferry (it holds the database file). */
async function tableRows(dataDir: string, ids: string[]) {
  const r = await runQuery(dataDir, `select * from orders where order_id in (${ids.map((i) => `'${i}'`).join(",") || "''"})`);
  return new Map(
    r.rows.map((row) => {
      const o = Object.fromEntries(r.columns.map((c, i) => [c, row[i]]));
      return [String(o.order_id), { ...o, price: Number(o.price), ordered_at: String(o.ordered_at).replace(" ", "T").replace(/\+00$/, "Z") }];
    }),
  );
}

describeIngressContract("run", async () => {
  const dataDir = newDataDir();
  const ferry = await startFerry(runArgs(dataDir, "--auth-token", TOKEN, "--body-limit", String(BODY_LIMIT)));
  return {
    ferry,
    readBack: (ids) => tableRows(dataDir, ids),
    close: async () => {
      expect(await ferry.stop()).toBe(0);
    },
  };
});

describe("run: table, lake and restarts", () => {
  test("rows land in the table with lineage; the lake gets every record once, across restarts", async () => {
    const dataDir = newDataDir();
    let ferry = await startFerry(runArgs(dataDir, "--interval", "300ms"));
    const batch1 = Array.from({ length: 50 }, (_, i) => order(`r1-${i}`, { ordered_at: i % 2 ? "2026-01-01T23:59:59.999999Z" : "2026-01-02T00:00:00Z" }));
    expect((await postOrders(ferry.url, batch1)).status).toBe(202);
    expect((await postOrders(ferry.url, order("r1-0", { quantity: 99, ordered_at: "2026-01-02T00:00:00Z" }))).status).toBe(202);
    // Rolled into the lake while running (every 300 ms), not only at shutdown.
    const deadline = Date.now() + 15_000;
    let live = 0;
    while (live < 51 && Date.now() < deadline) {
      await Bun.sleep(100);
      live = await runQuery(dataDir, "select count(*) from lake").then((r) => Number(r.rows[0]![0]), () => 0);
    }
    expect(live).toBe(51);
    expect(await ferry.stop()).toBe(0);

    ferry = await startFerry(runArgs(dataDir, "--interval", "1h"));
    expect((await postOrders(ferry.url, [order("r2-0"), order("r1-1", { quantity: 7 })])).status).toBe(202);
    expect(await ferry.stop()).toBe(0); // rolled on shutdown

    const db = await openDb(dataPaths(dataDir).database, { readOnly: true });
    try {
      const t = await db.query("select count(*), count(distinct kafka_offset), max(kafka_offset) from orders");
      expect(t.rows[0]!.map(Number)).toEqual([51, 51, 52]);
      const replaced = await db.query("select order_id, quantity, kafka_offset from orders where order_id in ('r1-0', 'r1-1') order by 1");
      expect(replaced.rows.map((r) => r.map(String))).toEqual([
        ["r1-0", "99", "50"],
        ["r1-1", "7", "52"],
      ]);
      const lineage = await db.query("select distinct kafka_topic, kafka_partition from orders");
      expect(lineage.rows).toEqual([["orders", 0]]);
    } finally {
      db.close();
    }
    const lake = await runQuery(dataDir, "select count(*), count(distinct kafka_offset), min(kafka_offset), max(kafka_offset) from lake");
    expect(lake.rows[0]!.map(Number)).toEqual([53, 53, 0, 52]);
    const byDate = await runQuery(dataDir, "select date, count(*) from lake where order_id like 'r1-%' and kafka_offset < 51 group by 1 order by 1");
    expect(byDate.rows.map((r) => [String(r[0]), Number(r[1])])).toEqual([
      ["2026-01-01", 25],
      ["2026-01-02", 26],
    ]);
    // The catalog's offset of the run's sequence moved with the rolled rows; each rollup one snapshot (two runs: at least two).
    const offset = await runQuery(dataDir, `select max(next_offset) from ferry_lake.ferry_offsets."orders/0"`);
    expect(offset.rows).toEqual([["53"]]);
    const rollups = await runQuery(dataDir, "select count(*) from ducklake_snapshots('ferry_lake') where changes::VARCHAR like '%insert%'");
    expect(Number(rollups.rows[0]![0])).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test("lake columns have the contract's types for other readers (a rollup past the inlining limit writes a Parquet file)", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir, "--interval", "1h"));
    const many = Array.from({ length: INLINE_ROWS + 100 }, (_, i) => order(`types-${i}`, { customer_id: "c" }));
    expect((await postOrders(ferry.url, many)).status).toBe(202);
    expect(await ferry.stop()).toBe(0); // one rollup on shutdown: one file
    const files = await runQuery(dataDir, "select data_file from ducklake_list_files('ferry_lake', 'lake')");
    expect(files.rows.length).toBe(1);
    const file = String(files.rows[0]![0]);
    expect(file.startsWith(`${dataPaths(dataDir).lake}/`)).toBe(true);
    const db = await openDb(":memory:");
    try {
      const s = await db.query(`select name, logical_type from parquet_schema('${file}') where name in ('price', 'ordered_at', 'ingested_at')`);
      expect(s.rows).toEqual([
        ["price", "DecimalType(scale=2, precision=12)"],
        ["ordered_at", "TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))"],
        ["ingested_at", "TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))"],
      ]);
      const cols = await db.query(`select column_name from (describe select * from read_parquet('${file}', hive_partitioning = false))`);
      expect(cols.rows.flat()).toEqual(expect.arrayContaining(["order_id", "product", "quantity", "price", "customer_id", "ordered_at", "kafka_topic", "kafka_partition", "kafka_offset", "ingested_at"]));
      expect(Number((await db.query(`select count(*) from read_parquet('${file}')`)).rows[0]![0])).toBe(INLINE_ROWS + 100);
      const meta = await db.query(`select distinct compression from parquet_metadata('${file}')`);
      expect(meta.rows.flat()).toEqual(["ZSTD"]);
    } finally {
      db.close();
    }
  }, 60_000);

  test("SIGTERM with requests in flight: every 202 is in the table and the lake, exit 0", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir, "--linger", "200ms"));
    const orders = Array.from({ length: 200 }, (_, i) => order(`term-${i}`));
    const answers = orders.map((o) =>
      postOrders(ferry.url, o).then(
        (r) => r.status,
        () => 0,
      ),
    );
    await waitForInFlight(ferry.url);
    expect(await ferry.stop("SIGTERM")).toBe(0);
    const statuses = await Promise.all(answers);
    expect(statuses.filter((s) => s !== 202 && s !== 503 && s !== 0)).toEqual([]);
    const accepted = orders.filter((_, i) => statuses[i] === 202).map((o) => o.order_id);
    expect(accepted.length).toBeGreaterThan(0);
    const inTable = await runQuery(dataDir, "select order_id from orders");
    const inLake = await runQuery(dataDir, "select order_id from lake");
    for (const id of accepted) {
      expect(inTable.rows.flat()).toContain(id);
      expect(inLake.rows.flat()).toContain(id);
    }
  }, 60_000);

  test("a port already taken is a clear start-up error, not a shared port", async () => {
    const first = await startFerry(runArgs(newDataDir()));
    const port = new URL(first.url).port;
    const err = await startFerry(["run", "--data-dir", newDataDir(), "--port", port]).then(
      async (second) => (await second.stop(), "started"),
      (e: Error) => e.message,
    );
    expect(await first.stop()).toBe(0);
    expect(err).toMatch(/ferry exited \(1\) before listening/);
    expect(err).toContain(`ferry: cannot listen on 127.0.0.1:${port}: `);
  }, 60_000);

  test("ferry query while ferry run holds the database answers through its socket", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir));
    await postOrders(ferry.url, order("sock-1"));
    const p = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../../src/main.ts"), "query", "--data-dir", dataDir, "--format", "csv", "select order_id from orders"]);
    expect(p.stdout.toString()).toBe("order_id\nsock-1\n");
    const bad = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../../src/main.ts"), "query", "--data-dir", dataDir, "select * from nope"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.toString()).toStartWith("ferry: duckdb: Catalog Error: Table with name nope does not exist");
    expect(await ferry.stop()).toBe(0);
  }, 60_000);

  test("ferry generate into the data dir of a running ferry run writes through it (no lock error, no token needed)", async () => {
    const dataDir = newDataDir();
    const ferry = await startFerry(runArgs(dataDir, "--auth-token", TOKEN));
    // In the first seconds, before any rollup: the lake exists and is empty.
    const lake = await runQuery(dataDir, "select date, count(*) from lake group by 1");
    expect(lake.rows).toEqual([]);
    const gen = await runFerry(["generate", "--count", "1000", "--seed", "4", "--data-dir", dataDir]);
    expectSuccess(gen);
    expect(gen.err).toContain('"accepted":1000');
    expect(Number((await runQuery(dataDir, "select count(*) from orders")).rows[0]![0])).toBe(1000);
    expect(await ferry.stop()).toBe(0);
  }, 60_000);
});
