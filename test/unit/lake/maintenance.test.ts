/**
 * Lake maintenance against real DuckLake catalogs (a DuckDB file; SQLite for several members at
 * once): many small batches become few files, every row stays there once, time travel to a kept
 * snapshot still answers, orphans older than the grace go and younger ones stay; one member at a
 * time; a sink's batches committing while another member maintains the lake all land.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type Db, openDb } from "../../../src/db/duckdb.ts";
import { type LakeBatchStoreOptions, openLakeBatchStore } from "../../../src/lake/batch-store.ts";
import { attachCatalog, catalogOf } from "../../../src/lake/catalog.ts";
import { DEFAULT_MAINTENANCE, lakeFiles, lakeTables, maintain, type MaintenancePolicy, type MaintenanceReport, MERGE_AT, scheduleMaintenance } from "../../../src/lake/maintenance.ts";
import { createLakeTables } from "../../../src/lake/tables.ts";
import type { Logger } from "../../../src/log/logger.ts";
import { orderBatch } from "../../helpers/lake-batches.ts";
import { memoryLogger } from "../../helpers/logger.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix = "ferry-maintain-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const openStore = (dataDir: string, log: Logger, more: Partial<LakeBatchStoreOptions> = {}) =>
  openLakeBatchStore({ dataDir, catalog: catalogOf({ dataDir }), dataPath: { url: `${dataDir}/lake/` }, writer: "test", kind: "orders", memoryLimitMb: 256, threads: 1, ...more }, log);
type Store = Awaited<ReturnType<typeof openStore>>;

/** Orders at offsets first..last of partition `partition`, over three dates. */
const batch = (first: number, last: number, sequence: number, partition = 0) => orderBatch(first, last, sequence, { partition, id: (o) => `${partition}-${o}`, quantity: (o) => 1 + (o % 50), dates: 3 });

const on = <T>(store: Store, fn: (db: Db) => Promise<T>) => store.maintenance(fn);
const rowsOf = async (db: Db, sql: string) => (await db.query(sql)).rows;
/** Every Parquet file under a folder, relative to it. */
const parquetUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".parquet"))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

const HOUR = 3_600_000;
/** The size tier of a file as maintenance merges them: below 1 MiB, 8 MiB, 64 MiB … */
const tierOf = (bytes: number) => {
  let tier = 0;
  for (let hi = 1 << 20; bytes >= hi; hi *= 8) tier++;
  return tier;
};

describe("lake maintenance (DuckLake)", () => {
  test("many small batches become few files; every row stays once; time travel to a kept snapshot answers; old orphans go, fresh ones and other files stay", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("notice");
    const store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    const snapshots: { snapshot: number; rows: number }[] = [];
    let offset = 0;
    // 30 batches: most small (inlined in the catalog), every 5th above the inlining limit (files)
    for (let i = 1; i <= 30; i++) {
      const size = i % 5 === 0 ? 2500 : 40;
      const r = await store.write(batch(offset, offset + size - 1, i));
      offset += size;
      snapshots.push({ snapshot: r.snapshot!, rows: offset });
    }
    const lake = `${dataDir}/lake/`;
    const filesBefore = await on(store, async (db) => lakeFiles(db, await lakeTables(db)));
    expect(filesBefore.length).toBe(6 * 3); // 6 big batches × 3 dates
    // An orphan of a batch killed two hours ago, one of a batch being written now, and a file DuckLake did not write
    const orphanDir = join(lake, "main", "lake", "date=2026-03-01");
    const oldOrphan = join(orphanDir, "ducklake-019a0000-0000-7000-8000-000000000001.parquet");
    const freshOrphan = join(orphanDir, "ducklake-019a0000-0000-7000-8000-000000000002.parquet");
    const foreign = join(lake, "orders", "date=2026-03-01", "part-0-0-9.parquet");
    mkdirSync(join(lake, "orders", "date=2026-03-01"), { recursive: true });
    for (const f of [oldOrphan, freshOrphan, foreign]) await on(store, (db) => db.exec(`COPY (SELECT 1 AS x) TO '${f}' (FORMAT parquet)`));
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    utimesSync(oldOrphan, twoHoursAgo, twoHoursAgo);
    utimesSync(foreign, twoHoursAgo, twoHoursAgo);

    const policy: MaintenancePolicy = { ...DEFAULT_MAINTENANCE, flushRows: 500 };
    const r = await on(store, (db) => maintain(db, policy, { member: "m1" }, log));
    expect(r.ran).toBe(true);
    expect(r.failed).toEqual([]);
    expect(r.before).toMatchObject({ files: 18, inlinedRows: 24 * 40 });
    expect(r.flushedRows).toBe(24 * 40);
    expect(r.after).toMatchObject({ files: 3, inlinedRows: 0 }); // one file per date
    expect(r.orphansDeleted).toBe(1);
    expect(r.foreignFiles).toBe(1);
    expect(r.filesDeleted).toBe(0); // the merged-away files are younger than the grace: a reader may still need them
    expect(statSync(freshOrphan).isFile()).toBe(true);
    expect(statSync(foreign).isFile()).toBe(true);
    expect(() => statSync(oldOrphan)).toThrow();
    expect(lines.filter((l) => l.includes('"lake maintained"'))).toHaveLength(1);

    const check = async () => {
      expect(await on(store, (db) => rowsOf(db, "SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT, min(kafka_offset)::INT, max(kafka_offset)::INT FROM ferry_lake.lake"))).toEqual([[offset, offset, 0, offset - 1]]);
      for (const s of [snapshots[0]!, snapshots[7]!, snapshots[20]!]) {
        expect(await on(store, (db) => rowsOf(db, `SELECT count(*)::INT, max(kafka_offset)::INT FROM ferry_lake.lake AT (VERSION => ${s.snapshot})`))).toEqual([[s.rows, s.rows - 1]]);
      }
    };
    await check();

    // Later, past the grace: the merged-away files go; the data path holds the current files (and the two left alone)
    const past = await on(store, (db) => maintain(db, { ...policy, fileGraceMs: 0 }, { member: "m1" }, log));
    expect(past.filesDeleted).toBe(18 + 3); // 18 written by batches, 3 by the flush
    const current = await on(store, async (db) => (await lakeFiles(db, ["lake"])).map((f) => relative(lake, f.path)));
    expect(parquetUnder(lake)).toEqual([...current, relative(lake, foreign)].sort()); // the fresh orphan is now past the grace of 0 too
    await check();

    // Snapshots past the retention expire: the latest is kept, an expired one cannot be read
    const expired = await on(store, (db) => maintain(db, { ...policy, snapshotRetentionMs: 0 }, { member: "m1" }, log));
    expect(expired.snapshotsExpired).toBeGreaterThan(30);
    await expect(on(store, (db) => db.query(`SELECT count(*) FROM ferry_lake.lake AT (VERSION => ${snapshots[0]!.snapshot})`))).rejects.toThrow(/snapshot/i);
    expect(await on(store, (db) => rowsOf(db, "SELECT count(*)::INT FROM ferry_lake.lake"))).toEqual([[offset]]);
    // The sink goes on after maintenance
    await store.write(batch(offset, offset + 9, 31));
    expect(await on(store, (db) => rowsOf(db, "SELECT count(*)::INT FROM ferry_lake.orders"))).toEqual([[offset + 10]]);
    await store.close();
  }, 60_000);

  test("SQLite catalog (times kept as text): files merged away a moment ago survive the grace, orphans go by their age", async () => {
    const dataDir = tempDir();
    const { log } = memoryLogger("warn");
    const store = await openStore(dataDir, log, { catalog: catalogOf({ dataDir, catalog: `sqlite:${join(dataDir, "catalog.sqlite")}` }) });
    await store.recover("t", [0]);
    for (let i = 0; i < 8; i++) await store.write(batch(i * 2100, i * 2100 + 2099, i + 1));
    const lake = `${dataDir}/lake/`;
    const orphanDir = join(lake, "main", "lake", "date=2026-03-02");
    const oldOrphan = join(orphanDir, "ducklake-019a0000-0000-7000-8000-000000000003.parquet");
    const freshOrphan = join(orphanDir, "ducklake-019a0000-0000-7000-8000-000000000004.parquet");
    for (const f of [oldOrphan, freshOrphan]) await on(store, (db) => db.exec(`COPY (SELECT 1 AS x) TO '${f}' (FORMAT parquet)`));
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    utimesSync(oldOrphan, twoHoursAgo, twoHoursAgo);
    const first = await on(store, (db) => maintain(db, DEFAULT_MAINTENANCE, { member: "m" }, log));
    expect(first).toMatchObject({ failed: [], after: { files: 3 }, merged: { files: 24, into: 3 }, orphansDeleted: 1 });
    // DuckLake compares a text catalog's times as strings: with older_than => now() - 1 hour it took these 24 for old
    const second = await on(store, (db) => maintain(db, DEFAULT_MAINTENANCE, { member: "m" }, log));
    expect(second).toMatchObject({ failed: [], filesDeleted: 0, snapshotsExpired: 0, orphansDeleted: 0 });
    expect(parquetUnder(lake)).toHaveLength(24 + 3 + 1);
    expect(statSync(freshOrphan).isFile()).toBe(true);
    expect(await on(store, (db) => rowsOf(db, "SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT FROM ferry_lake.lake"))).toEqual([[8 * 2100, 8 * 2100]]);
    await store.close();
  }, 60_000);

  test("inlined rows are flushed when there are enough, or when they would be flushAgeMs old by the next scheduled run", async () => {
    const dataDir = tempDir();
    const { log } = memoryLogger("warn");
    const store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    for (let i = 0; i < 3; i++) await store.write(batch(i * 50, i * 50 + 49, i + 1));
    const policy: MaintenancePolicy = { ...DEFAULT_MAINTENANCE, flushRows: 1000, flushAgeMs: 10 * 60_000 };
    const young = await on(store, (db) => maintain(db, policy, { member: "m" }, log));
    expect(young).toMatchObject({ flushedRows: 0, after: { files: 0, inlinedRows: 150 } });
    expect((await on(store, (db) => maintain(db, { ...policy, flushRows: 150 }, { member: "m" }, log))).flushedRows).toBe(150);
    for (let i = 3; i < 5; i++) await store.write(batch(i * 50, i * 50 + 49, i + 1));
    await on(store, (db) => db.exec("UPDATE ferry_lake.ferry_maintenance.last_run SET started_at = now() - INTERVAL 1 HOUR"));
    const scheduled = await on(store, (db) => maintain(db, policy, { member: "m", everyMs: 10 * 60_000 }, log));
    expect(scheduled).toMatchObject({ ran: true, flushedRows: 100, after: { inlinedRows: 0 } });
    expect(await on(store, (db) => rowsOf(db, "SELECT count(*)::INT FROM ferry_lake.lake"))).toEqual([[250]]);
    await store.close();
  }, 60_000);

  test("one member at a time: a run within the schedule of another's is skipped; a running one blocks; a stale claim (a killed member) does not", async () => {
    const dataDir = tempDir();
    const { log, lines } = memoryLogger("info");
    const store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    await store.write(batch(0, 9, 1));
    const run = (member: string, everyMs?: number) => on(store, (db) => maintain(db, DEFAULT_MAINTENANCE, { member, everyMs }, log));
    expect((await run("a", 600_000)).ran).toBe(true);
    const skipped = await run("b", 600_000);
    expect(skipped.ran).toBe(false);
    expect(skipped.skipped).toMatch(/^another member maintained the lake \(a, at /);
    expect(lines.some((l) => l.includes("lake maintenance skipped"))).toBe(true);
    // On demand (no schedule): runs
    expect((await run("b")).ran).toBe(true);
    // A member is in a run (started, not finished): even on demand, another waits for it
    await on(store, (db) => db.exec("UPDATE ferry_lake.ferry_maintenance.last_run SET member = 'c', started_at = now() - INTERVAL 10 MINUTE, finished_at = NULL"));
    expect((await run("d")).skipped).toMatch(/^another member \(c\) is maintaining the lake/);
    // …unless it started over an hour ago (killed): then it is taken over
    await on(store, (db) => db.exec("UPDATE ferry_lake.ferry_maintenance.last_run SET started_at = now() - INTERVAL 2 HOUR"));
    expect((await run("d", 600_000)).ran).toBe(true);
    expect(await on(store, (db) => rowsOf(db, "SELECT member, finished_at IS NOT NULL FROM ferry_lake.ferry_maintenance.last_run"))).toEqual([["d", true]]);
    await store.close();
  }, 60_000);

  test("on a schedule: runs between batches through the store, one member per interval across two members; stop() waits for a run and ends it", async () => {
    const shared = tempDir("ferry-maintain-schedule-");
    const { log, lines } = memoryLogger("info");
    const catalog = catalogOf({ dataDir: shared, catalog: `sqlite:${join(shared, "catalog.sqlite")}` });
    const stores = [await openStore(tempDir(), log, { catalog, dataPath: { url: `${shared}/lake/` } }), await openStore(tempDir(), log, { catalog, dataPath: { url: `${shared}/lake/` } })];
    const reports: MaintenanceReport[][] = [[], []];
    const EVERY = 1500;
    const schedules = stores.map((store, i) =>
      scheduleMaintenance({ everyMs: EVERY, policy: { ...DEFAULT_MAINTENANCE, flushRows: 1 }, member: `m${i}`, run: store.maintenance, onReport: (r) => reports[i]!.push(r) }, log),
    );
    await stores[0]!.recover("t", [0]);
    await stores[1]!.recover("t", [1]);
    const started = performance.now();
    for (let i = 0; i < 15; i++) await Promise.all(stores.map((store, p) => store.write(batch(i * 20, i * 20 + 19, i + 1, p))));
    while (performance.now() - started < 4 * EVERY) await Bun.sleep(100);
    await Promise.all(schedules.map((s) => s.stop()));
    const elapsed = performance.now() - started;
    const ran = reports.flat().filter((r) => r.ran);
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(ran.length).toBeLessThanOrEqual(Math.ceil(elapsed / (EVERY * 0.9)) + 1); // not every member every interval
    expect(reports.flat().filter((r) => !r.ran).every((r) => /another member/.test(r.skipped!))).toBe(true);
    const count = reports.flat().length;
    await Bun.sleep(EVERY * 1.5);
    expect(reports.flat().length).toBe(count); // stopped
    expect(lines.some((l) => l.includes("lake maintenance failed"))).toBe(false);
    expect(await on(stores[0]!, (db) => rowsOf(db, "SELECT count(*)::INT, count(DISTINCT (kafka_partition, kafka_offset))::INT FROM ferry_lake.lake"))).toEqual([[600, 600]]);
    for (const store of stores) await store.close();
  }, 60_000);

  test("DuckDB-file catalog: maintenance on a connection of its own beside the store's — batches go on committing while it merges, all land", async () => {
    const dataDir = tempDir();
    const { log } = memoryLogger("warn");
    const store = await openStore(dataDir, log);
    await store.recover("t", [0]);
    let offset = 0;
    for (let i = 1; i <= 24; i++, offset += 2100) await store.write(batch(offset, offset + 2099, i));
    let sequence = 25;
    const committedAt: number[] = [];
    let maintaining = true;
    // The store's own maintenance connection, as the sink's schedule uses it.
    const run = store.maintenance((db) => maintain(db, DEFAULT_MAINTENANCE, { member: "m" }, log)).finally(() => (maintaining = false));
    const started = performance.now();
    while (maintaining || committedAt.length < 3) {
      await store.write(batch(offset, offset + 2099, sequence++));
      offset += 2100;
      committedAt.push(performance.now() - started);
    }
    const r = await run;
    expect(r).toMatchObject({ ran: true, failed: [], merged: { into: 3 } });
    expect(committedAt.filter((t) => t < r.ms).length).toBeGreaterThan(0); // committed while it ran
    expect(await on(store, (db) => rowsOf(db, "SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT FROM ferry_lake.lake"))).toEqual([[offset, offset]]);
    await store.close();
  }, 120_000);

  test("SQLite catalog: two sinks' batches commit while a third member maintains the lake again and again; every batch lands, every row once", async () => {
    const shared = tempDir("ferry-maintain-shared-");
    const { log, lines } = memoryLogger("info");
    const catalog = catalogOf({ dataDir: shared, catalog: `sqlite:${join(shared, "catalog.sqlite")}` });
    const open = () => openStore(tempDir(), log, { catalog, dataPath: { url: `${shared}/lake/` } });
    const a = await open();
    const b = await open();
    await a.recover("t", [0]);
    await b.recover("t", [1]);
    const maintainer = await openDb(":memory:");
    await attachCatalog(maintainer, catalog, { url: `${shared}/lake/` });
    const BATCHES = 24;
    let writing = true;
    const sink = async (store: Store, partition: number) => {
      for (let i = 1, offset = 0; i <= BATCHES; i++) {
        const size = i % 4 === 0 ? 2100 : 30; // some above the inlining limit: files
        await store.write(batch(offset, offset + size - 1, i, partition));
        offset += size;
      }
    };
    const policy: MaintenancePolicy = { ...DEFAULT_MAINTENANCE, flushRows: 100, fileGraceMs: 60_000 };
    const runs: Awaited<ReturnType<typeof maintain>>[] = [];
    const maintaining = (async () => {
      while (writing) {
        runs.push(await maintain(maintainer, policy, { member: "c" }, log));
        await Bun.sleep(20);
      }
    })();
    const sinks = await Promise.allSettled([sink(a, 0), sink(b, 1)]);
    writing = false;
    await maintaining;
    expect(sinks.map((s) => (s.status === "rejected" ? String(s.reason) : "ok"))).toEqual(["ok", "ok"]);
    // A last run that flushes whatever is inlined (the policy's threshold may not be reached by what the last runs left).
    runs.push(await maintain(maintainer, { ...policy, flushRows: 1 }, { member: "c" }, log));
    const perPartition = BATCHES * 30 + (BATCHES / 4) * (2100 - 30);
    expect(await on(a, (db) => rowsOf(db, "SELECT kafka_partition, count(*)::INT, count(DISTINCT kafka_offset)::INT FROM ferry_lake.lake GROUP BY 1 ORDER BY 1"))).toEqual([
      [0, perPartition, perPartition],
      [1, perPartition, perPartition],
    ]);
    expect(runs.filter((r) => r.ran && r.merged.files > 0).length).toBeGreaterThan(0);
    const last = runs.at(-1)!;
    expect(last.after.inlinedRows).toBe(0);
    // What met what (shown when the test runs with FERRY_SHOW_CONFLICTS=1)
    if (process.env.FERRY_SHOW_CONFLICTS) console.log({ runs: runs.length, failedSteps: runs.flatMap((r) => r.failed), batchRetries: lines.filter((l) => l.includes("trying again")) });
    maintainer.close();
    await a.close();
    await b.close();
  }, 120_000);

  test("two members maintaining at once: one runs, the other says another member maintained the lake; nothing is lost", async () => {
    const shared = tempDir("ferry-maintain-two-");
    const { log } = memoryLogger("warn");
    const catalog = catalogOf({ dataDir: shared, catalog: `sqlite:${join(shared, "catalog.sqlite")}` });
    const store = await openStore(tempDir(), log, { catalog, dataPath: { url: `${shared}/lake/` } });
    await store.recover("t", [0]);
    for (let i = 0; i < 12; i++) await store.write(batch(i * 2100, i * 2100 + 2099, i + 1));
    const members = await Promise.all(
      ["x", "y"].map(async () => {
        const db = await openDb(":memory:");
        await attachCatalog(db, catalog, { url: `${shared}/lake/` });
        return db;
      }),
    );
    const [rx, ry] = await Promise.all(members.map((db, i) => maintain(db, DEFAULT_MAINTENANCE, { member: `m${i}`, everyMs: 600_000 }, log)));
    const ran = [rx!, ry!].filter((r) => r.ran);
    const other = [rx!, ry!].filter((r) => !r.ran || r.failed.length > 0);
    expect(ran.length).toBeGreaterThanOrEqual(1);
    // the other skipped, or (claims at the same instant) lost its steps to the first's
    for (const r of other) expect(r.skipped ?? r.failed.map((f) => f.error).join()).toMatch(/another member/);
    expect(await on(store, (db) => rowsOf(db, "SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT FROM ferry_lake.lake"))).toEqual([[12 * 2100, 12 * 2100]]);
    expect((await on(store, (db) => lakeFiles(db, ["lake"]))).length).toBe(3);
    for (const db of members) db.close();
    await store.close();
  }, 60_000);

  test("property: any batches, any maintenance points — the rows, and the lake at each kept snapshot, are unchanged; no partition keeps MERGE_AT files of one size tier", async () => {
    const runs = process.env.FERRY_FUZZ_RUNS ? Number(process.env.FERRY_FUZZ_RUNS) : 4;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ rows: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 2001, max: 2600 })), dates: fc.integer({ min: 1, max: 4 }), maintain: fc.boolean() }), { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 1, max: 3000 }),
        async (batches, flushRows) => {
          const dir = tempDir("ferry-maintain-prop-");
          const db = await openDb(":memory:");
          try {
            await attachCatalog(db, catalogOf({ dataDir: dir }), { url: `${dir}/lake/` });
            await createLakeTables(db, "orders");
            const policy: MaintenancePolicy = { ...DEFAULT_MAINTENANCE, flushRows, fileGraceMs: 0 };
            const seen: { snapshot: number; rows: number; sum: number }[] = [];
            let offset = 0;
            let sum = 0;
            for (const b of batches) {
              await db.exec(
                `INSERT INTO ferry_lake.main.lake (order_id, product, quantity, price, ordered_at, kafka_topic, kafka_partition, kafka_offset, ingested_at, date)
                 SELECT 'o-' || (range + ${offset}), 'p', (range % 97)::INT, 1.25, TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_days((range % ${b.dates})::INT), 't', 0, range + ${offset}, now(), DATE '2026-03-01' + (range % ${b.dates})::INT FROM range(${b.rows})`,
              );
              for (let i = 0; i < b.rows; i++) sum += i % 97;
              offset += b.rows;
              seen.push({ snapshot: Number((await db.query("SELECT id FROM ferry_lake.current_snapshot()")).rows[0]![0]), rows: offset, sum });
              if (b.maintain) {
                const r = await maintain(db, policy, { member: "p" }, memoryLogger().log);
                expect(r.failed).toEqual([]);
                expect(r.after.files).toBeLessThanOrEqual(r.before.files + 4);
              }
            }
            await maintain(db, policy, { member: "p" }, memoryLogger().log);
            expect((await db.query("SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT, sum(quantity)::BIGINT FROM ferry_lake.lake")).rows).toEqual([[offset, offset, String(sum)]]);
            for (const s of seen) expect((await db.query(`SELECT count(*)::INT, sum(quantity)::BIGINT FROM ferry_lake.lake AT (VERSION => ${s.snapshot})`)).rows).toEqual([[s.rows, String(s.sum)]]);
            const tiers = new Map<string, number>();
            for (const f of await lakeFiles(db, ["lake"])) {
              const key = `${f.partition} tier ${tierOf(f.bytes)}`;
              tiers.set(key, (tiers.get(key) ?? 0) + 1);
            }
            for (const [key, n] of tiers) expect({ key, n: Math.min(n, MERGE_AT - 1) }).toEqual({ key, n });
          } finally {
            db.close();
          }
        },
      ),
      { numRuns: runs },
    );
  }, 300_000);
});
