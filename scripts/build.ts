/**
 * Builds dist/ferry: this machine's executable (linux-x64 here; any platform of
 * src/platform/targets.ts) from `bun build --compile`, with DuckDB's library, its addon and the
 * httpfs, ducklake, postgres and sqlite extensions embedded — zstd-compressed, written out once to
 * a private cache folder and checked by SHA-256 at start (scripts/target-build.ts, shared with
 * scripts/release.ts; src/platform/duckdb-native.ts). The SHA-256s are also written to
 * node_modules/.cache/ferry-build/<target>/embedded-sha256.json.
 *   bun scripts/build.ts [outfile (dist/ferry)] [entry (src/main.ts)]
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { hostTarget } from "../src/platform/targets.ts";
import { buildBinary } from "./target-build.ts";

const outfile = process.argv[2] ?? "dist/ferry";
const entry = process.argv[3] ?? "src/main.ts"; // another entry: tests compile small programs the same way
const target = hostTarget();
if (!target) throw new Error(`ferry is not built for ${process.platform}-${process.arch} (see src/platform/targets.ts)`);
mkdirSync(dirname(outfile), { recursive: true });
const started = performance.now();
const { seconds } = await buildBinary({ target, outfile, entry });
console.error(`built ${outfile} (${target}) in ${Math.round(performance.now() - started)} ms (compress ${seconds.compress.toFixed(1)} s)`);
