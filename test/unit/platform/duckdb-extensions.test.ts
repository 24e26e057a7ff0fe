/**
 * The DuckDB extensions ferry embeds (src/platform/duckdb-native.ts extensionPath, loaded by
 * src/db/duckdb.ts loadExtension) load into the embedded DuckDB with its signature checks on, and
 * work: a DuckLake catalog (DuckDB file and SQLite file) with its data folder, a SQLite database,
 * the postgres extension's functions (a live server: test/integration/postgres-smoke.test.ts).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchExtensions } from "../../../scripts/duckdb-extensions.ts";
import { loadExtension, openDb, sqlString, type Db } from "../../../src/db/duckdb.ts";
import { EXTENSIONS, extensionPath } from "../../../src/platform/duckdb-native.ts";
import { extensionFileName } from "../../../src/platform/duckdb-extension-names.ts";

let tmp: string;
const open: Db[] = [];
const memoryDb = async () => {
  const db = await openDb(":memory:");
  open.push(db);
  return db;
};

beforeAll(async () => {
  await fetchExtensions(); // cached by scripts/build.ts; fetched from PyPI only when missing
  tmp = mkdtempSync(join(tmpdir(), "ferry-duckdb-extensions-"));
}, 300_000);
afterAll(() => {
  for (const db of open) db.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("every embedded extension has a real path named as DuckDB expects (<entry point>.duckdb_extension)", async () => {
  for (const name of EXTENSIONS) {
    const path = await extensionPath(name);
    expect(path.endsWith(`/${extensionFileName(name)}`)).toBe(true);
    expect(existsSync(path)).toBe(true);
  }
});

test("each extension LOADs (signature checked) and DuckDB then lists it as loaded", async () => {
  const db = await memoryDb();
  const signed = await db.query(`SELECT current_setting('allow_unsigned_extensions')`);
  expect(signed.rows[0]![0]).toBe(false);
  for (const name of EXTENSIONS) await loadExtension(db, name);
  const loaded = await db.query(`SELECT extension_name FROM duckdb_extensions() WHERE loaded ORDER BY 1`);
  const names = loaded.rows.map((r) => String(r[0]));
  // The postgres extension calls itself postgres_scanner, sqlite sqlite_scanner.
  for (const name of ["httpfs", "ducklake", "postgres_scanner", "sqlite_scanner"]) expect(names).toContain(name);
});

test("an extension with one byte changed is refused (signature), and so is a file that is no extension", async () => {
  const db = await memoryDb();
  const bytes = new Uint8Array(await Bun.file(await extensionPath("sqlite")).arrayBuffer());
  bytes[bytes.length >> 1]! ^= 0xff;
  const tampered = join(tmp, extensionFileName("sqlite"));
  await Bun.write(tampered, bytes);
  await expect(db.exec(`LOAD ${sqlString(tampered)}`)).rejects.toThrow(/signature is either missing or invalid/);
  const junk = join(tmp, "junk.duckdb_extension");
  await Bun.write(junk, new Uint8Array(4096).fill(7));
  await expect(db.exec(`LOAD ${sqlString(junk)}`)).rejects.toThrow(/not a DuckDB extension/);
});

test("ducklake: a catalog in a DuckDB file with a data folder; a table written in one transaction is read back", async () => {
  const dir = join(tmp, "ducklake-duckdb");
  mkdirSync(dir); // the catalog's folder (DuckDB creates the file, not its folder)
  const db = await memoryDb();
  await loadExtension(db, "ducklake");
  await db.exec(`ATTACH ${sqlString(`ducklake:${join(dir, "c.ducklake")}`)} AS l (DATA_PATH ${sqlString(join(dir, "data") + "/")})`);
  await db.exec(`CREATE TABLE l.orders (id VARCHAR, amount DECIMAL(12, 2))`);
  await db.transaction(async () => {
    await db.exec(`INSERT INTO l.orders VALUES ('a', 1.50), ('b', 2.25)`);
    await db.exec(`INSERT INTO l.orders VALUES ('c', 3.00)`);
  });
  await db.exec(`CALL ducklake_flush_inlined_data('l')`); // small inserts may be inlined in the catalog
  const rows = await db.query(`SELECT id, amount::VARCHAR FROM l.orders ORDER BY id`);
  expect(rows.rows).toEqual([["a", "1.50"], ["b", "2.25"], ["c", "3.00"]]);
  await db.exec(`DETACH l`);
  // Parquet files in the data folder, and a second database reads the same rows through the catalog.
  expect(readdirSync(join(dir, "data"), { recursive: true }).some((f) => String(f).endsWith(".parquet"))).toBe(true);
  const other = await memoryDb();
  await loadExtension(other, "ducklake");
  await other.exec(`ATTACH ${sqlString(`ducklake:${join(dir, "c.ducklake")}`)} AS l (READ_ONLY)`);
  expect((await other.query(`SELECT count(*)::INTEGER, sum(amount)::VARCHAR FROM l.orders`)).rows).toEqual([[3, "6.75"]]);
});

test("ducklake: a catalog in a SQLite file (the sqlite extension loaded first), read by a second instance", async () => {
  const dir = join(tmp, "ducklake-sqlite");
  const catalog = `ducklake:sqlite:${join(dir, "c.sqlite")}`;
  mkdirSync(dir);
  const db = await memoryDb();
  await loadExtension(db, "sqlite");
  await loadExtension(db, "ducklake");
  await db.exec(`ATTACH ${sqlString(catalog)} AS l (DATA_PATH ${sqlString(join(dir, "data") + "/")})`);
  await db.exec(`CREATE TABLE l.t (k INTEGER, v VARCHAR)`);
  await db.transaction(() => db.exec(`INSERT INTO l.t SELECT i, 'v' || i FROM range(100) r(i)`));
  const other = await memoryDb();
  await loadExtension(other, "sqlite");
  await loadExtension(other, "ducklake");
  await other.exec(`ATTACH ${sqlString(catalog)} AS l`);
  expect((await other.query(`SELECT count(*)::INTEGER, min(v), max(k)::INTEGER FROM l.t`)).rows).toEqual([[100, "v0", 99]]);
});

test("sqlite: a SQLite database file is created, written and read", async () => {
  const file = join(tmp, "plain.sqlite");
  const db = await memoryDb();
  await loadExtension(db, "sqlite");
  await db.exec(`ATTACH ${sqlString(file)} AS s (TYPE sqlite)`);
  await db.exec(`CREATE TABLE s.t (id INTEGER, name VARCHAR)`);
  await db.exec(`INSERT INTO s.t VALUES (1, 'one'), (2, 'two ✓')`);
  await db.exec(`DETACH s`);
  expect(existsSync(file)).toBe(true);
  const other = await memoryDb();
  await loadExtension(other, "sqlite");
  expect((await other.query(`SELECT id::INTEGER, name FROM sqlite_scan(${sqlString(file)}, 't') ORDER BY id`)).rows).toEqual([
    [1, "one"],
    [2, "two ✓"],
  ]);
});

test("postgres: the extension's functions are there once loaded (a live server: postgres-smoke.test.ts)", async () => {
  const db = await memoryDb();
  await loadExtension(db, "postgres");
  const fns = await db.query(`SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name IN ('postgres_scan', 'postgres_execute', 'postgres_query') ORDER BY 1`);
  expect(fns.rows.map((r) => r[0])).toEqual(["postgres_execute", "postgres_query", "postgres_scan"]);
  // Nothing listens on port 1: the extension itself answers with libpq's refusal.
  await expect(db.exec(`ATTACH 'host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2' AS pg (TYPE postgres)`)).rejects.toThrow(/connect|refused/i);
});
