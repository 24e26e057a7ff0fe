/**
 * Builds dist/ferry: one executable from `bun build --compile`, DuckDB embedded, and DuckDB's httpfs
 * extension (fetched from PyPI by scripts/duckdb-extensions.ts) for querying a lake on S3.
 * The DuckDB bindings `require` every platform's addon; only linux-x64 (glibc) is bundled, the
 * others are marked external. libduckdb.so is embedded as a file asset by src/platform/duckdb-native.ts,
 * which checks the copy it writes out against the SHA-256 recorded here (a generated JSON module).
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { fetchHttpfs } from "./duckdb-extensions.ts";
import { sha256File } from "../src/platform/hash.ts";
import bindings from "../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };

const target = "linux-x64";
const otherPlatforms = Object.keys((bindings as { optionalDependencies?: Record<string, string> }).optionalDependencies ?? {}).filter(
  (name) => name !== `@duckdb/node-bindings-${target}`,
);
const outfile = process.argv[2] ?? "dist/ferry";
mkdirSync("dist", { recursive: true });
const started = performance.now();
const httpfs = await fetchHttpfs(); // embedded by src/platform/duckdb-httpfs-asset.ts
// The native files the binary writes out and loads, by the name it gives them.
const sums = {
  "libduckdb.so": sha256File("node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so"),
  "httpfs.duckdb_extension": sha256File(httpfs),
};
const sumsFile = "node_modules/.cache/ferry-build/embedded-sha256.json"; // read by src/platform/duckdb-native.ts
mkdirSync("node_modules/.cache/ferry-build", { recursive: true });
writeFileSync(`${sumsFile}.${process.pid}.tmp`, `${JSON.stringify(sums, null, 2)}\n`);
renameSync(`${sumsFile}.${process.pid}.tmp`, sumsFile);
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
