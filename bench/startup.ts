/**
 * Startup benchmark of the compiled binary: its size, the cold start of `ferry --version` and of
 * `ferry query "select 1"` (first run with an empty cache, which unpacks the embedded DuckDB
 * library, and then warm runs), and peak RSS. Medians over several runs.
 *   bun bench/startup.ts [runs]      (needs dist/ferry: npm run build)
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median, round, writeResult } from "./lib.ts";

const runs = Number(process.argv[2] ?? 15);
const built = resolve(import.meta.dir, "../dist/ferry");
if (!existsSync(built)) throw new Error("dist/ferry is missing: run `npm run build` first");
const dir = mkdtempSync(join(tmpdir(), "ferry-bench-"));
const bin = join(dir, "ferry");
copyFileSync(built, bin);
const cache = join(dir, "cache");
const env = { PATH: "/usr/bin:/bin", HOME: dir, XDG_CACHE_HOME: cache };

function measure(args: string[]) {
  const t0 = performance.now();
  const p = Bun.spawnSync([bin, ...args], { cwd: dir, env });
  const ms = performance.now() - t0;
  if (p.exitCode !== 0) throw new Error(`ferry ${args.join(" ")} failed: ${p.stderr}`);
  return { ms, rssMb: (p.resourceUsage?.maxRSS ?? 0) / 2 ** 20 /* Bun reports bytes */ };
}

function series(label: string, args: string[]) {
  const xs = Array.from({ length: runs }, () => measure(args));
  const out = { median_ms: round(median(xs.map((x) => x.ms))), min_ms: round(Math.min(...xs.map((x) => x.ms))), peak_rss_mb: round(Math.max(...xs.map((x) => x.rssMb))) };
  console.log(`${label.padEnd(34)} median ${out.median_ms} ms  min ${out.min_ms} ms  peak RSS ${out.peak_rss_mb} MB  (${runs} runs)`);
  return out;
}

const sizeMb = round(statSync(bin).size / 2 ** 20);
console.log(`binary size                        ${sizeMb} MiB`);
const firstRuns = Array.from({ length: Math.min(5, runs) }, () => {
  rmSync(cache, { recursive: true, force: true });
  return measure(["query", "select 1"]);
});
const first = { median_ms: round(median(firstRuns.map((x) => x.ms))), peak_rss_mb: round(Math.max(...firstRuns.map((x) => x.rssMb))) };
console.log(`query "select 1", empty cache      median ${first.median_ms} ms  peak RSS ${first.peak_rss_mb} MB`);
const version = series("--version", ["--version"]);
const query = series('query "select 1" (warm cache)', ["query", "select 1"]);
writeResult("startup", { binary_size_mib: sizeMb, version, query_warm: query, query_first_run_empty_cache: first });
rmSync(dir, { recursive: true, force: true });
