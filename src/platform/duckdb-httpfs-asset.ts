/**
 * DuckDB's httpfs extension, embedded as a file asset (fetched at build time by
 * scripts/duckdb-extensions.ts). Imported only when a lake on S3 is queried.
 */
// @ts-ignore -- a file asset: a real path from source, a /$bunfs/ path inside the binary
import httpfs from "../../node_modules/.cache/ferry-duckdb-extensions/httpfs.duckdb_extension" with { type: "file" };

export default String(httpfs);
