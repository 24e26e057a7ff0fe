/**
 * Adopting the previous release's lake on S3 (S3Proxy, the project's script, a port of the test's
 * own): the previous release's own code writes its lake into the bucket (files, commit markers) and
 * its offsets into the data dir; the catalog adopts the committed files' rows (DuckLake writes them
 * into the bucket under main/lake/), leaves the file of a batch cut short, and each partition
 * continues where the legacy lake says.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../src/db/duckdb.ts";
import { adoptLegacyLake } from "../../src/lake/adopt.ts";
import { attachCatalog, catalogOf, type DataPath } from "../../src/lake/catalog.ts";
import { createOffsetsSchema, readOffsets } from "../../src/lake/offsets.ts";
import { createLakeTables } from "../../src/lake/tables.ts";
import { legacyFerry, writeLegacy } from "../helpers/legacy-ferry.ts";
import { legacyOrder } from "../helpers/legacy-lake-writer.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { listKeys, ownS3 } from "../helpers/s3.ts";
import { SERVER_HOOK_TIMEOUT, uniqueName } from "../helpers/servers.ts";

const legacy = legacyFerry();
const skip = "skip" in legacy ? legacy.skip : undefined;
const legacyDir = "dir" in legacy ? legacy.dir : "";
if (skip) console.warn(`lake-adopt-s3.test.ts is skipped: ${skip}`);
const s3 = ownS3(19906);
const work = mkdtempSync(join(tmpdir(), "ferry-adopt-s3-"));

beforeAll(async () => {
  if (!skip) await s3.start();
}, SERVER_HOOK_TIMEOUT);
afterAll(async () => {
  if (!skip) await s3.stop();
  if ("remove" in legacy) legacy.remove();
  rmSync(work, { recursive: true, force: true });
}, SERVER_HOOK_TIMEOUT);

describe.skipIf(skip !== undefined)("adopting the previous release's lake on S3", () => {
  test("committed files adopted once (their rows now in the bucket under main/lake/), the cut-short file left, offsets continue", async () => {
    const prefix = uniqueName("legacy");
    const dataDir = join(work, "data");
    mkdirSync(dataDir, { recursive: true });
    const creds = { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    writeLegacy(legacyDir, {
      mode: "sink",
      dataDir,
      seed: 3,
      lake: `s3://${s3.bucket}/${prefix}`,
      s3: creds,
      steps: [
        // More rows than the catalog inlines: the adoption writes data files into the bucket.
        { batch: [{ topic: "t", partition: 0, first: 0, last: 2499 }, { topic: "t", partition: 1, first: 0, last: 9 }] },
        { batch: [{ topic: "t", partition: 1, first: 10, last: 19 }], crash: "between-files" },
      ],
    });
    const legacyKeys = await listKeys(s3, `${prefix}/`);
    expect(legacyKeys.some((k) => k.startsWith(`${prefix}/_ferry/commits/t/0/`))).toBe(true);
    const dataPath: DataPath = { url: `s3://${s3.bucket}/${prefix}/`, s3: { ...creds, region: "us-east-1", pathStyle: true } };
    const db = await openDb(":memory:");
    await attachCatalog(db, catalogOf({ dataDir }), dataPath);
    await createLakeTables(db, "orders");
    await createOffsetsSchema(db);
    const { log, lines } = memoryLogger("notice");
    const result = await adoptLegacyLake(db, { dataDir, dataPath, kind: "orders", writer: "test" }, log);
    expect([result.outcome, result.left, result.rows]).toEqual(["adopted", 1, 2510]);
    expect(lines.some((l) => l.includes("not adopted") && l.includes(`s3://${s3.bucket}/${prefix}/t/date=`))).toBe(true);
    expect(Object.fromEntries(await readOffsets(db))).toEqual({ "t/0": 2500, "t/1": 10 });
    const rows = (await db.query("SELECT kafka_topic, kafka_partition::INT, kafka_offset::INT, product, date::VARCHAR FROM ferry_lake.main.lake ORDER BY 2, 3")).rows;
    const positions: [number, number][] = [...Array.from({ length: 2500 }, (_, o): [number, number] => [0, o]), ...Array.from({ length: 10 }, (_, o): [number, number] => [1, o])];
    const expected = positions.map(([p, o]) => {
      const order = legacyOrder(3, "t", p, o);
      return ["t", p, o, order.product, order.ordered_at.slice(0, 10)];
    });
    expect(rows).toEqual(expected);
    const after = await listKeys(s3, `${prefix}/main/lake/`);
    expect(after.filter((k) => k.endsWith(".parquet")).length).toBeGreaterThan(0);
    expect((await adoptLegacyLake(db, { dataDir, dataPath, kind: "orders", writer: "test" }, log)).outcome).toBe("already");
    db.close();
  }, 120_000);
});
