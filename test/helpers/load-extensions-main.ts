/**
 * A small program compiled like dist/ferry (scripts/build.ts <out> <this file>) by
 * test/integration/platform/embedded-extensions.test.ts: it loads the embedded DuckDB extensions
 * named in its arguments the way ferry does (written out to the private cache folder on first use,
 * SHA-256 checked) and uses each. Prints one JSON line: each extension's path and what it read.
 *   load-extensions <work folder> [httpfs|ducklake|postgres|sqlite ...]
 */
import { join } from "node:path";
import { loadExtension, openDb, sqlString } from "../../src/db/duckdb.ts";
import { EXTENSIONS, extensionPath, type ExtensionName } from "../../src/platform/duckdb-native.ts";

const [work, ...names] = process.argv.slice(2);
if (!work || names.some((n) => !(EXTENSIONS as readonly string[]).includes(n))) {
  console.error(`usage: load-extensions <work folder> [${EXTENSIONS.join("|")} ...]`);
  process.exit(2);
}
const db = await openDb(":memory:");
const out: Record<string, unknown> = {};
for (const name of names as ExtensionName[]) {
  await loadExtension(db, name);
  out[name] = { path: await extensionPath(name) };
}
if (names.includes("ducklake")) {
  const catalog = names.includes("sqlite") ? `ducklake:sqlite:${join(work, "c.sqlite")}` : `ducklake:${join(work, "c.ducklake")}`;
  await db.exec(`ATTACH ${sqlString(catalog)} AS l (DATA_PATH ${sqlString(join(work, "data") + "/")})`);
  await db.exec(`CREATE TABLE l.t AS SELECT i AS k, 'v' || i AS v FROM range(10) r(i)`);
  out.ducklake = { ...(out.ducklake as object), rows: (await db.query(`SELECT count(*)::INTEGER, max(v) FROM l.t`)).rows[0] };
}
out.loaded = (await db.query(`SELECT extension_name FROM duckdb_extensions() WHERE loaded ORDER BY 1`)).rows.map((r) => r[0]);
db.close();
console.log(JSON.stringify(out));
