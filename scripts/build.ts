/**
 * Builds dist/ferry: one executable from `bun build --compile`, DuckDB embedded, and DuckDB's httpfs
 * extension (fetched from PyPI by scripts/duckdb-extensions.ts) for querying a lake on S3.
 * The DuckDB bindings `require` every platform's addon; only linux-x64 (glibc) is bundled, the
 * others are marked external. libduckdb.so is embedded as a file asset by src/platform/duckdb-native.ts.
 */
import { mkdirSync } from "node:fs";
import { fetchHttpfs } from "./duckdb-extensions.ts";
import bindings from "../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };

const target = "linux-x64";
const otherPlatforms = Object.keys((bindings as { optionalDependencies?: Record<string, string> }).optionalDependencies ?? {}).filter(
  (name) => name !== `@duckdb/node-bindings-${target}`,
);
const outfile = process.argv[2] ?? "dist/ferry";
mkdirSync("dist", { recursive: true });
const started = performance.now();
await fetchHttpfs(); // embedded by src/platform/duckdb-httpfs-asset.ts
const result = Bun.spawnSync(
  [
    process.execPath,
    "build",
    "--compile",
    "--minify-syntax",
    "--minify-whitespace",
    `--target=bun-${target}`,
    "src/main.ts",
    "--outfile",
    outfile,
    ...[...otherPlatforms, "detect-libc"].flatMap((name) => ["--external", name]),
  ],
  { stdout: "inherit", stderr: "inherit" },
);
if (result.exitCode !== 0) process.exit(result.exitCode ?? 1);
console.error(`built ${outfile} in ${Math.round(performance.now() - started)} ms`);
