/**
 * `ferry maintain` through the CLI: it maintains a data dir's catalog once and prints what it did
 * per table and partition; no catalog, or a DuckDB-file catalog another process holds, is said
 * plainly (exit 1, one line).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openDb } from "../../../src/db/duckdb.ts";
import { attachCatalog, catalogOf } from "../../../src/lake/catalog.ts";
import { createLakeTables } from "../../../src/lake/tables.ts";
import { cli } from "../../helpers/cli.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ferry-maintain-cli-"));
  dirs.push(d);
  return d;
};

/** A data dir's lake: `batches` inserts of 2,500 rows (files) over three dates, and 150 rows inlined. */
async function lakeIn(dataDir: string, batches: number, catalog?: string): Promise<void> {
  const db = await openDb(":memory:");
  await attachCatalog(db, catalogOf({ dataDir, catalog }), { url: `${dataDir}/lake/` });
  await createLakeTables(db, "orders");
  for (let b = 0; b <= batches; b++) {
    const [n, at] = b < batches ? [2500, b * 2500] : [150, batches * 2500];
    await db.exec(
      `INSERT INTO ferry_lake.main.lake (order_id, product, quantity, price, ordered_at, kafka_topic, kafka_partition, kafka_offset, ingested_at, date)
       SELECT 'o-' || (range + ${at}), 'p', 1, 1.5, TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_days((range % 3)::INT), 't', 0, range + ${at}, now(), DATE '2026-03-01' + (range % 3)::INT FROM range(${n})`,
    );
  }
  db.close();
}

describe("ferry maintain", () => {
  test("maintains the data dir's catalog once: every inlined row into files, small files merged; says what it did per partition", async () => {
    const dataDir = tempDir();
    await lakeIn(dataDir, 5);
    const r = await cli(["maintain", "--data-dir", dataDir, "--log-level", "error"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`lake maintained in `);
    expect(r.out).toContain(`(catalog ${resolve(dataDir, "lake.ducklake")})`);
    expect(r.out).toMatch(/files: 15 → 3 .*; rows inlined in the catalog: 150 → 0 \(150 written into files\)/);
    expect(r.out).toContain("merged: 18 files into 3");
    for (const d of ["01", "02", "03"]) expect(r.out).toContain(`    lake date=2026-03-${d}: 5 → 1\n`);
    const again = await cli(["maintain", "--data-dir", dataDir, "--log-level", "error"]);
    expect(again.out).toContain("merged: 0 files into 0");
  }, 60_000);

  test("a SQLite catalog, with the retention and grace given", async () => {
    const dataDir = tempDir();
    const catalog = `sqlite:${join(dataDir, "catalog.sqlite")}`;
    await lakeIn(dataDir, 4, catalog);
    const r = await cli(["maintain", "--data-dir", dataDir, "--catalog", catalog, "--snapshot-retention", "48h", "--file-grace", "2m", "--log-level", "error"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("snapshots expired (older than 48h): 0");
    expect(r.out).toContain("files deleted (older than 2m): 0 no longer referenced, 0 of batches that never committed");
    expect(r.out).toMatch(/files: 12 → 3 /);
  }, 60_000);

  test("no catalog there: nothing is created, and it says so", async () => {
    const dataDir = tempDir();
    const r = await cli(["maintain", "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`ferry: catalog: no lake catalog at ${resolve(dataDir, "lake.ducklake")}: nothing to maintain (give --catalog, or the --data-dir a sink writes)`);
  });

  test("a DuckDB-file catalog another process holds (a running sink): says so, and that the sink maintains it", async () => {
    const dataDir = tempDir();
    await lakeIn(dataDir, 1);
    const holder = Bun.spawn(
      [
        process.execPath,
        "-e",
        `const { openDb } = await import(${JSON.stringify(resolve(import.meta.dir, "../../../src/db/duckdb.ts"))});
         const { attachCatalog, catalogOf } = await import(${JSON.stringify(resolve(import.meta.dir, "../../../src/lake/catalog.ts"))});
         const db = await openDb(":memory:");
         await attachCatalog(db, catalogOf({ dataDir: ${JSON.stringify(dataDir)} }), undefined);
         await db.query("SELECT count(*) FROM ferry_lake.lake");
         console.log("holding");
         await new Promise((r) => setTimeout(r, 60_000));`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    try {
      const reader = holder.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain("holding");
      const r = await cli(["maintain", "--data-dir", dataDir]);
      expect(r.code).toBe(1);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain(`ferry: catalog: the catalog ${resolve(dataDir, "lake.ducklake")} is held by a running process (pid ${holder.pid}): a DuckDB-file catalog is open in one process at a time. A sink holding it maintains the lake itself on its schedule`);
    } finally {
      holder.kill();
      await holder.exited;
    }
  }, 60_000);
});
