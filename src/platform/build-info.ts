/**
 * What this ferry was built for: its target (src/platform/targets.ts) and DuckDB's version, as the
 * build recorded them (no native code is loaded to tell). From source: this machine's platform and
 * the installed bindings.
 */
import bindings from "@duckdb/node-bindings/package.json" with { type: "json" };
import { embedded } from "./embedded-assets.ts";
import { hostTarget } from "./targets.ts";

export interface BuildInfo {
  /** e.g. linux-arm64 */
  target: string;
  /** DuckDB's version, e.g. 1.5.5 */
  duckdb: string;
}

export function buildInfo(): BuildInfo {
  if (embedded) return { target: embedded.target, duckdb: embedded.duckdb };
  return { target: hostTarget() ?? `${process.platform}-${process.arch}`, duckdb: bindings.version.replace(/-r\.\d+$/, "") };
}
