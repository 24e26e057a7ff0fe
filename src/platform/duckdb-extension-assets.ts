/**
 * The DuckDB extensions embedded as file assets (fetched at build time by
 * scripts/duckdb-extensions.ts; one static import each, as `bun build --compile` needs).
 * Each under the file name it LOADs by (extensionFileName). Importing this module only yields paths: an extension is written out when it is first loaded.
 */
import type { ExtensionName } from "./duckdb-extension-names.ts";
// @ts-ignore -- file assets: a real path from source, a /$bunfs/ path inside the binary
import httpfs from "../../node_modules/.cache/ferry-duckdb-extensions/httpfs.duckdb_extension" with { type: "file" };
// @ts-ignore
import ducklake from "../../node_modules/.cache/ferry-duckdb-extensions/ducklake.duckdb_extension" with { type: "file" };
// @ts-ignore
import postgres from "../../node_modules/.cache/ferry-duckdb-extensions/postgres_scanner.duckdb_extension" with { type: "file" };
// @ts-ignore
import sqlite from "../../node_modules/.cache/ferry-duckdb-extensions/sqlite_scanner.duckdb_extension" with { type: "file" };

export const extensionAssets: Record<ExtensionName, string> = {
  httpfs: String(httpfs),
  ducklake: String(ducklake),
  postgres: String(postgres),
  sqlite: String(sqlite),
};
