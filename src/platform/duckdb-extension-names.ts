/** The DuckDB extensions embedded in the binary (fetched at build time by scripts/duckdb-extensions.ts). */
export const EXTENSIONS = ["httpfs", "ducklake", "postgres", "sqlite"] as const;
export type ExtensionName = (typeof EXTENSIONS)[number];

/**
 * The file name an extension must have to LOAD: DuckDB looks for the entry point
 * `<file name>_duckdb_cpp_init`, and the postgres and sqlite extensions call themselves
 * postgres_scanner and sqlite_scanner (their wheels ship them as postgres/sqlite.duckdb_extension).
 */
export const extensionFileName = (name: ExtensionName) =>
  `${name === "postgres" || name === "sqlite" ? `${name}_scanner` : name}.duckdb_extension`;
