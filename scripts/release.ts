/**
 * `npm run release`: ferry for every platform, from this one machine, in dist/release/:
 *   ferry-<version>-<os>-<arch>.tar.gz (.zip for Windows), each holding one folder
 *   ferry-<version>-<os>-<arch>/ with ferry (ferry.exe), README.md and LICENSE (when there is one),
 *   and SHA256SUMS (sha256sum's format) naming every archive in the folder.
 * Each binary embeds its own platform's DuckDB library, addon and extensions (scripts/target-build.ts),
 * zstd-compressed. Archives are reproducible: fixed times and owners.
 *   bun scripts/release.ts [--targets linux-arm64,windows-x64] [--out dist/release]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { executableName, isTarget, TARGET_NAMES, TARGETS, type Target } from "../src/platform/targets.ts";
import { tar } from "./tar.ts";
import { buildBinary } from "./target-build.ts";
import { zip } from "./zip.ts";

const ROOT = resolve(import.meta.dir, "..");

/** ferry-<version>-<os>-<arch>: the release folder's name, and the archive's without its extension. */
export const releaseNameOf = (version: string, target: Target) => `ferry-${version}-${target}`;
export const archiveNameOf = (version: string, target: Target) => `${releaseNameOf(version, target)}.${TARGETS[target].os === "windows" ? "zip" : "tar.gz"}`;
/** The same for this package's version (one argument: fit for `targets.map(archiveName)`). */
export const releaseName = (target: Target) => releaseNameOf(pkg.version, target);
export const archiveName = (target: Target) => archiveNameOf(pkg.version, target);

/** The files of a release folder besides the binary. */
function documents(): { name: string; data: Uint8Array }[] {
  return ["README.md", "LICENSE"].filter((f) => existsSync(join(ROOT, f))).map((name) => ({ name, data: new Uint8Array(readFileSync(join(ROOT, name))) }));
}

/** The time the archives give their files: $SOURCE_DATE_EPOCH, else the last commit's (reproducible either way). */
function sourceDate(): Date {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return new Date(fromEnv * 1000);
  let commit = 0;
  try {
    const git = Bun.spawnSync(["git", "log", "-1", "--format=%ct"], { cwd: ROOT, stderr: "ignore" });
    if (git.exitCode === 0) commit = Number(git.stdout.toString().trim()) || 0;
  } catch {} // no git (a container build): the epoch
  return new Date(commit * 1000);
}

/** The archive of `target`'s release folder, holding `binary`. */
export function packRelease(target: Target, binary: Uint8Array, docs = documents(), version = pkg.version, date = sourceDate()): Uint8Array {
  const folder = `${releaseNameOf(version, target)}/`;
  const entries = [{ name: folder }, { name: folder + executableName(target), data: binary, mode: 0o755 }, ...docs.map((d) => ({ name: folder + d.name, data: d.data, mode: 0o644 }))];
  if (TARGETS[target].os === "windows") return zip(entries, date);
  return Bun.gzipSync(tar(entries, Math.floor(date.getTime() / 1000)), { level: 9, library: "libdeflate" });
}

/** SHA256SUMS for every archive in `dir`, sorted by name, in `sha256sum`'s text format. */
export function writeSums(dir: string): string {
  const archives = readdirSync(dir).filter((f) => /^ferry-.*\.(tar\.gz|zip)$/.test(f)).sort();
  const lines = archives.map((name) => `${new Bun.CryptoHasher("sha256").update(readFileSync(join(dir, name))).digest("hex")}  ${name}\n`);
  const path = join(dir, "SHA256SUMS");
  writeFileSync(`${path}.tmp`, lines.join(""));
  renameSync(`${path}.tmp`, path);
  return lines.join("");
}

function parseArgs(argv: string[]): { targets: Target[]; out: string } {
  let targets: Target[] = [...TARGET_NAMES];
  let out = join(ROOT, "dist/release");
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? "";
    if (flag === "--targets") {
      const names = value().split(",").filter(Boolean);
      const unknown = names.filter((n) => !isTarget(n));
      if (unknown.length || !names.length) throw new Error(`--targets: ${unknown.length ? `unknown ${unknown.join(", ")}` : "none given"} (targets: ${TARGET_NAMES.join(", ")})`);
      targets = names as Target[];
    } else if (flag === "--out") out = resolve(value());
    else throw new Error(`unknown argument ${argv[i]} (usage: bun scripts/release.ts [--targets ${TARGET_NAMES.join(",")}] [--out dist/release])`);
  }
  return { targets, out };
}

if (import.meta.main) {
  const { targets, out } = parseArgs(process.argv.slice(2));
  const work = join(out, ".build");
  mkdirSync(work, { recursive: true });
  const started = performance.now();
  for (const target of targets) {
    const t0 = performance.now();
    const binary = join(work, target, executableName(target));
    mkdirSync(join(work, target), { recursive: true });
    const built = await buildBinary({ target, outfile: binary });
    const t1 = performance.now();
    const archive = join(out, archiveName(target));
    writeFileSync(`${archive}.tmp`, packRelease(target, new Uint8Array(readFileSync(binary))));
    renameSync(`${archive}.tmp`, archive);
    rmSync(join(work, target), { recursive: true, force: true });
    const size = Bun.file(archive).size;
    const s = built.seconds;
    console.log(
      `${archiveName(target)}  ${(size / 1e6).toFixed(1)} MB  (fetch ${s.fetch.toFixed(1)} s, compress ${s.compress.toFixed(1)} s, compile ${s.compile.toFixed(1)} s, pack ${((performance.now() - t1) / 1000).toFixed(1)} s; ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  if (readdirSync(work).length === 0) rmSync(work, { recursive: true, force: true });
  writeSums(out);
  console.log(`SHA256SUMS written; ${targets.length} target(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
