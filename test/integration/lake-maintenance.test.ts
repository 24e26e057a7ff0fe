/**
 * Lake maintenance against the real servers: a lake on S3 (S3Proxy, the project's script, a port
 * of the test's own) — small files merged, files merged away and orphans deleted from the bucket
 * once past the grace, other objects left alone; a PostgreSQL catalog (the shared test server) —
 * two sinks' batches all land while a third member maintains the lake again and again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openDb } from "../../src/db/duckdb.ts";
import { type LakeBatchStoreOptions, openLakeBatchStore } from "../../src/lake/batch-store.ts";
import { attachCatalog, catalogOf, type DataPath } from "../../src/lake/catalog.ts";
import { DEFAULT_MAINTENANCE, lakeFiles, maintain, type MaintenanceReport } from "../../src/lake/maintenance.ts";
import type { Logger } from "../../src/log/logger.ts";
import { orderBatch } from "../helpers/lake-batches.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { dropDatabase, freshDatabase, startPostgres } from "../helpers/postgres.ts";
import { listKeys, ownS3, s3Client } from "../helpers/s3.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../helpers/servers.ts";

const s3 = ownS3(Number(process.env.FERRY_TEST_S3_MAINTAIN_PORT ?? 19913));
const work = mkdtempSync(join(tmpdir(), "ferry-maintain-it-"));
let n = 0;
const dir = () => mkdtempSync(join(work, `d${n++}-`));

beforeAll(async () => {
  await Promise.all([s3.start(), startPostgres()]);
}, SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

const batch = (first: number, last: number, sequence: number, partition = 0) => orderBatch(first, last, sequence, { partition, id: (o) => `${partition}-${o}`, quantity: (o) => 1 + (o % 50), dates: 3 });
const openStore = (log: Logger, more: Partial<LakeBatchStoreOptions> & Pick<LakeBatchStoreOptions, "catalog" | "dataPath">) =>
  openLakeBatchStore({ dataDir: dir(), writer: "test", kind: "orders", memoryLimitMb: 256, threads: 1, ...more }, log);
const rowsOf = async (db: Db, sql: string) => (await db.query(sql)).rows;

describe("lake maintenance on the real servers", () => {
  test("a lake on S3: small files merged; merged-away files and DuckLake's orphans deleted from the bucket past the grace; other objects left alone", async () => {
    const prefix = uniqueName("maintain");
    const dataPath: DataPath = { url: `s3://${s3.bucket}/${prefix}/`, s3: { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: "us-east-1", pathStyle: true } };
    const catalogDir = dir();
    const { log } = memoryLogger("warn");
    const store = await openStore(log, { dataDir: catalogDir, catalog: catalogOf({ dataDir: catalogDir }), dataPath });
    await store.recover("t", [0]);
    for (let i = 0; i < 6; i++) await store.write(batch(i * 2100, i * 2100 + 2099, i + 1));
    const client = s3Client(s3);
    const orphan = `${prefix}/main/lake/date=2026-03-01/ducklake-019a0000-0000-7000-8000-000000000005.parquet`;
    const foreign = `${prefix}/orders/date=2026-03-01/part-0-0-9.parquet`;
    const parquet = await store.maintenance(async (db) => {
      await db.exec(`COPY (SELECT 1 AS x) TO '${join(catalogDir, "x.parquet")}' (FORMAT parquet)`);
      return Bun.file(join(catalogDir, "x.parquet")).arrayBuffer();
    });
    await client.write(orphan, new Uint8Array(parquet));
    await client.write(foreign, new Uint8Array(parquet));
    await Bun.sleep(2500); // S3 keeps its own time of each object: past a grace of 1 s
    const policy = { ...DEFAULT_MAINTENANCE, fileGraceMs: 1000 };
    const first = await store.maintenance((db) => maintain(db, policy, { member: "m", dataPath }, log));
    expect(first).toMatchObject({ failed: [], before: { files: 18 }, after: { files: 3 }, orphansDeleted: 1, foreignFiles: 1 });
    await Bun.sleep(1500);
    const second = await store.maintenance((db) => maintain(db, policy, { member: "m", dataPath }, log));
    expect(second).toMatchObject({ failed: [], filesDeleted: 18 });
    const current = await store.maintenance(async (db) => (await lakeFiles(db, ["lake"])).map((f) => f.path.replace(`s3://${s3.bucket}/`, "")));
    expect((await listKeys(s3, `${prefix}/`)).filter((k) => k.endsWith(".parquet"))).toEqual([...current, foreign].sort());
    expect(await store.maintenance((db) => rowsOf(db, "SELECT count(*)::INT, count(DISTINCT kafka_offset)::INT FROM ferry_lake.lake"))).toEqual([[6 * 2100, 6 * 2100]]);
    await store.close();
  }, 120_000);

  test("a PostgreSQL catalog: two sinks' batches land while a third member maintains the lake again and again", async () => {
    const url = await freshDatabase("maintain");
    try {
      const lakeDir = dir();
      const catalog = catalogOf({ dataDir: lakeDir, catalog: url });
      const dataPath: DataPath = { url: `${lakeDir}/lake/` };
      const { log, lines } = memoryLogger("info");
      const a = await openStore(log, { catalog, dataPath });
      const b = await openStore(log, { catalog, dataPath });
      await a.recover("t", [0]);
      await b.recover("t", [1]);
      const maintainer = await openDb(":memory:");
      await attachCatalog(maintainer, catalog, dataPath);
      const BATCHES = 30;
      const sink = async (store: typeof a, partition: number) => {
        for (let i = 1, offset = 0; i <= BATCHES; i++) {
          const size = i % 3 === 0 ? 2100 : 30;
          await store.write(batch(offset, offset + size - 1, i, partition));
          offset += size;
        }
      };
      let writing = true;
      const runs: MaintenanceReport[] = [];
      const maintaining = (async () => {
        while (writing) {
          runs.push(await maintain(maintainer, { ...DEFAULT_MAINTENANCE, flushRows: 100 }, { member: "c" }, log));
          await Bun.sleep(20);
        }
      })();
      const sinks = await Promise.allSettled([sink(a, 0), sink(b, 1)]);
      writing = false;
      await maintaining;
      expect(sinks.map((s) => (s.status === "rejected" ? String(s.reason) : "ok"))).toEqual(["ok", "ok"]);
      const perPartition = (BATCHES / 3) * 2100 + ((BATCHES * 2) / 3) * 30;
      expect(await a.maintenance((db) => rowsOf(db, "SELECT kafka_partition, count(*)::INT, count(DISTINCT kafka_offset)::INT FROM ferry_lake.lake GROUP BY 1 ORDER BY 1"))).toEqual([
        [0, perPartition, perPartition],
        [1, perPartition, perPartition],
      ]);
      expect(runs.some((r) => r.ran && r.merged.files > 0)).toBe(true);
      if (process.env.FERRY_SHOW_CONFLICTS) console.log({ runs: runs.length, failedSteps: runs.flatMap((r) => r.failed), batchRetries: lines.filter((l) => l.includes("trying again")) });
      maintainer.close();
      await a.close();
      await b.close();
    } finally {
      await dropDatabase(url);
    }
  }, 180_000);
});
