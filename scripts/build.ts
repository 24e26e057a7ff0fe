/**
 * Builds dist/ferry: one executable from `bun build --compile`, DuckDB embedded, and DuckDB's httpfs,
 * ducklake, postgres and sqlite extensions (fetched from PyPI by scripts/duckdb-extensions.ts).
 * The DuckDB bindings `require` every platform's addon; only linux-x64 (glibc) is bundled, the
 * others are marked external. libduckdb.so is embedded as a file asset by src/platform/duckdb-native.ts,
 * which checks the copy it writes out against the SHA-256 recorded here (a generated JSON module).
 *   bun scripts/build.ts [outfile (dist/ferry)] [entry (src/main.ts)]
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { extensionFileName, fetchExtensions, type ExtensionName } from "./duckdb-extensions.ts";
import { sha256File } from "../src/platform/hash.ts";
import bindings from "../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };

const target = "linux-x64";
const otherPlatforms = Object.keys((bindings as { optionalDependencies?: Record<string, string> }).optionalDependencies ?? {}).filter(
  (name) => name !== `@duckdb/node-bindings-${target}`,
);
const outfile = process.argv[2] ?? "dist/ferry";
const entry = process.argv[3] ?? "src/main.ts"; // another entry: tests compile small programs the same way
mkdirSync("dist", { recursive: true });
const started = performance.now();
const extensions = await fetchExtensions(); // embedded by src/platform/duckdb-extension-assets.ts
// The native files the binary writes out and loads, by the name it gives them.
const sums = {
  "libduckdb.so": sha256File("node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so"),
  ...Object.fromEntries(Object.entries(extensions).map(([name, path]) => [extensionFileName(name as ExtensionName), sha256File(path)])),
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
    entry,
    "--outfile",
    outfile,
    ...[...otherPlatforms, "detect-libc"].flatMap((name) => ["--external", name]),
  ],
  { stdout: "inherit", stderr: "inherit" },
);
if (result.exitCode !== 0) process.exit(result.exitCode ?? 1);
console.error(`built ${outfile} in ${Math.round(performance.now() - started)} ms`);
