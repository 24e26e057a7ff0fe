import pkg from "../package.json" with { type: "json" };
import { buildInfo } from "./platform/build-info.ts";

export const VERSION: string = pkg.version;

/** `ferry --version`: ferry's version, the platform it was built for and DuckDB's version. */
export function versionLine(): string {
  const { target, duckdb } = buildInfo();
  return `ferry ${VERSION} (${target}, DuckDB v${duckdb})`;
}
