/**
 * Startup benchmark of the compiled binary: its size, the cold start of `ferry --version` and of
 * `ferry query "select 1"` (first run with an empty cache, which writes out the embedded DuckDB
 * library and addon — decompressing them — and then warm runs), and peak RSS. Medians over several
 * runs. With --baseline REV, the binary built at that commit (bench/lib.ts buildAt) is measured in
 * the same run, alternating with this one, and each figure gets its ratio (this / baseline).
 *   bun bench/startup.ts [runs] [--baseline REV]      (needs dist/ferry: npm run build)
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildAt, median, round, waitForQuiet, writeResult } from "./lib.ts";

const args = process.argv.slice(2);
const baselineAt = args.indexOf("--baseline");
const baselineRev = baselineAt >= 0 ? args.splice(baselineAt, 2)[1] : undefined;
const runs = Number(args[0] ?? 15);
const built = resolve(import.meta.dir, "../dist/ferry");
if (!existsSync(built)) throw new Error("dist/ferry is missing: run `npm run build` first");
const dir = mkdtempSync(join(tmpdir(), "ferry-bench-"));

interface Subject {
  label: string;
  bin: string;
  cache: string;
  env: Record<string, string>;
}

function subject(label: string, from: string): Subject {
  const home = join(dir, label);
  Bun.spawnSync(["mkdir", "-p", home]);
  const bin = join(home, "ferry");
  copyFileSync(from, bin);
  const cache = join(home, "cache");
  return { label, bin, cache, env: { PATH: "/usr/bin:/bin", HOME: home, XDG_CACHE_HOME: cache } };
}

function measure(s: Subject, argv: string[]) {
  const t0 = performance.now();
  const p = Bun.spawnSync([s.bin, ...argv], { cwd: dir, env: s.env });
  const ms = performance.now() - t0;
  if (p.exitCode !== 0) throw new Error(`ferry ${argv.join(" ")} failed: ${p.stderr}`);
  return { ms, rssMb: (p.resourceUsage?.maxRSS ?? 0) / 2 ** 20 /* Bun reports bytes */ };
}

type Figure = { median_ms: number; min_ms: number; peak_rss_mb: number };
const figure = (xs: { ms: number; rssMb: number }[]): Figure => ({ median_ms: round(median(xs.map((x) => x.ms))), min_ms: round(Math.min(...xs.map((x) => x.ms))), peak_rss_mb: round(Math.max(...xs.map((x) => x.rssMb))) });

/** `n` rounds of `step` for each subject, alternating (ABAB), so others' load falls on both alike. */
function alternate(subjects: Subject[], n: number, step: (s: Subject) => { ms: number; rssMb: number }): Figure[] {
  const xs = subjects.map(() => [] as { ms: number; rssMb: number }[]);
  for (let i = 0; i < n; i++) subjects.forEach((s, j) => xs[j]!.push(step(s)));
  return xs.map(figure);
}

const subjects = [subject("current", built)];
if (baselineRev) {
  const at = mkdtempSync(join(tmpdir(), "ferry-bench-baseline-"));
  const { bin, commit } = buildAt(baselineRev, at);
  subjects.push(subject(`baseline-${commit.slice(0, 9)}`, bin));
  rmSync(at, { recursive: true, force: true });
}
await waitForQuiet();

const results: Record<string, Record<string, unknown>> = {};
const rows: [string, Figure[]][] = [
  [
    'query "select 1", empty cache',
    alternate(subjects, Math.min(5, runs), (s) => {
      rmSync(s.cache, { recursive: true, force: true });
      return measure(s, ["query", "select 1"]);
    }),
  ],
  ["--version", alternate(subjects, runs, (s) => measure(s, ["--version"]))],
  ['query "select 1" (warm cache)', alternate(subjects, runs, (s) => measure(s, ["query", "select 1"]))],
];
subjects.forEach((s) => {
  const sizeMib = round(statSync(s.bin).size / 2 ** 20);
  console.log(`${s.label}: binary size ${sizeMib} MiB`);
  results[s.label] = { binary_size_mib: sizeMib };
});
for (const [label, figures] of rows) {
  subjects.forEach((s, j) => {
    const f = figures[j]!;
    const ratio = j > 0 ? "" : subjects.length > 1 ? `  ×${round(f.median_ms / figures[1]!.median_ms, 2)} of baseline` : "";
    console.log(`${s.label.padEnd(20)} ${label.padEnd(32)} median ${f.median_ms} ms  min ${f.min_ms} ms  peak RSS ${f.peak_rss_mb} MB${ratio}`);
    results[s.label]![label] = f;
  });
}
if (subjects.length > 1)
  results.ratios = Object.fromEntries(rows.map(([label, f]) => [label, { median: round(f[0]!.median_ms / f[1]!.median_ms, 2), peak_rss: round(f[0]!.peak_rss_mb / f[1]!.peak_rss_mb, 2) }]));
writeResult("startup", results);
rmSync(dir, { recursive: true, force: true });
