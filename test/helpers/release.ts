/**
 * The release archives under test: dist/release/ferry-<version>-<os>-<arch>.tar.gz (.zip for
 * Windows) and dist/release/SHA256SUMS, made by scripts/release.ts. `releaseArchives(targets)`
 * builds the targets asked for when their archive is missing or older than the sources (logging
 * how long that took), and fails — never skips — when the build fails. FERRY_RELEASE_DIR names a
 * release folder to test instead (e.g. a downloaded one): it is never built, only checked.
 * Also: reading an archive's entries (tar through the system's tar; zip read here), and extracting
 * one into a temp folder as a user would.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { inflateRawSync } from "node:zlib";
import pkg from "../../package.json" with { type: "json" };
import { archiveName, releaseName } from "../../scripts/release.ts";
import { executableName, TARGET_NAMES, TARGETS as TARGET_SPECS, type Target } from "../../src/platform/targets.ts";

export { archiveName, releaseName, TARGET_SPECS, type Target };
const ROOT = resolve(import.meta.dir, "../..");
export const VERSION: string = pkg.version;

/** Every platform a release ships, as <os>-<arch> (src/platform/targets.ts). */
export const TARGETS: readonly Target[] = TARGET_NAMES;
/** The size limit for one archive (decimal megabytes, as download sizes are quoted). */
export const MAX_ARCHIVE_BYTES = 100 * 1000 * 1000;
export const binaryName = executableName;

export const RELEASE_DIR = process.env.FERRY_RELEASE_DIR ? resolve(process.env.FERRY_RELEASE_DIR) : join(ROOT, "dist/release");
const BUILD_LOG = join(ROOT, "dist/release-build.log");

/** What the archives are made of: the newest modification time among these (tracked or new) files. */
function newestSource(): { path: string; mtimeMs: number } {
  const p = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "src", "scripts", "package.json", "package-lock.json", "README.md", "LICENSE"], { cwd: ROOT });
  if (p.exitCode !== 0) throw new Error(`git ls-files failed: ${p.stderr.toString()}`);
  let newest = { path: "", mtimeMs: 0 };
  for (const f of p.stdout.toString().split("\0").filter(Boolean)) {
    const path = join(ROOT, f);
    if (!existsSync(path)) continue; // deleted, not yet committed
    const mtimeMs = statSync(path).mtimeMs;
    if (mtimeMs > newest.mtimeMs) newest = { path: f, mtimeMs };
  }
  return newest;
}

/** Targets whose archive is missing, or older than a source (the build scripts among them). */
function staleTargets(targets: readonly Target[]): Target[] {
  const newest = newestSource().mtimeMs;
  return targets.filter((t) => {
    const archive = join(RELEASE_DIR, archiveName(t));
    return !existsSync(archive) || statSync(archive).mtimeMs < newest;
  });
}

/** A lock file only one release build holds at a time (other test processes wait for it). */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const lock = join(ROOT, "dist/.release-build.lock");
  for (const deadline = Date.now() + 30 * 60_000; ; ) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const holder = Number(readFileSync(lock, "utf8") || 0);
      let alive = false;
      try {
        alive = holder > 0 && process.kill(holder, 0);
      } catch {}
      if (!alive) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} held by pid ${holder} for 30 minutes`);
      else await Bun.sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

export interface ReleaseBuild {
  /** Targets built by this call (empty when the archives were up to date). */
  built: Target[];
  seconds: number;
}

let building: Promise<ReleaseBuild> | undefined;
let buildingFor = new Set<Target>();

/**
 * Makes sure the archives of `targets` and SHA256SUMS exist and are newer than the sources:
 * builds the stale ones with scripts/release.ts (output in dist/release-build.log), once per
 * test process for the same targets.
 */
export function releaseArchives(targets: readonly Target[] = TARGETS): Promise<ReleaseBuild> {
  if (building && targets.every((t) => buildingFor.has(t))) return building;
  const before = building ?? Promise.resolve<ReleaseBuild>({ built: [], seconds: 0 });
  buildingFor = new Set([...buildingFor, ...targets]);
  building = before.then(() => build(targets));
  return building;
}

async function build(targets: readonly Target[]): Promise<ReleaseBuild> {
  if (process.env.FERRY_RELEASE_DIR) {
    const missing = targets.filter((t) => !existsSync(join(RELEASE_DIR, archiveName(t))));
    if (missing.length) throw new Error(`FERRY_RELEASE_DIR=${RELEASE_DIR} has no ${missing.map((t) => archiveName(t)).join(", ")}`);
    return { built: [], seconds: 0 };
  }
  return withBuildLock(async () => {
    const stale = staleTargets(targets);
    if (!stale.length) return { built: [], seconds: 0 };
    const started = performance.now();
    const startedAt = Date.now() - 2000; // file times may be coarser than the clock
    const cmd = [process.execPath, "scripts/release.ts", "--targets", stale.join(",")];
    const p = Bun.spawn(cmd, { cwd: ROOT, stdin: "ignore", stdout: Bun.file(BUILD_LOG), stderr: "pipe" });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    await Bun.write(`${BUILD_LOG}.stderr`, err);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    if (code !== 0) throw new Error(`${cmd.slice(1).join(" ")} exited ${code} after ${seconds} s (stdout in ${BUILD_LOG}):\n${err.slice(-3000)}`);
    // Written by this build (sources others edit meanwhile do not make it stale again here).
    const notWritten = stale.filter((t) => !existsSync(archivePath(t)) || statSync(archivePath(t)).mtimeMs < startedAt);
    if (notWritten.length) throw new Error(`${cmd.slice(1).join(" ")} succeeded but did not write ${notWritten.map((t) => archiveName(t)).join(", ")} in ${RELEASE_DIR}`);
    console.error(`[release] built ${stale.join(", ")} in ${seconds} s (scripts/release.ts; log ${BUILD_LOG})`);
    return { built: stale, seconds };
  });
}

export const archivePath = (t: Target) => join(RELEASE_DIR, archiveName(t));

/** SHA256SUMS: file name → sha256, in the `sha256sum` format (text or binary marker). */
export function readSums(): Map<string, string> {
  const text = readFileSync(join(RELEASE_DIR, "SHA256SUMS"), "utf8");
  const sums = new Map<string, string>();
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    const m = /^([0-9a-f]{64}) [ *](\S.*)$/.exec(line);
    if (!m) throw new Error(`SHA256SUMS line ${i + 1} is not "<sha256>  <file>": ${JSON.stringify(line)}`);
    if (sums.has(m[2]!)) throw new Error(`SHA256SUMS lists ${m[2]} twice`);
    sums.set(m[2]!, m[1]!);
  }
  return sums;
}

export interface ArchiveEntry {
  /** Path inside the archive; folders end with "/". */
  name: string;
  /** Unix permission bits, when the archive records them. */
  mode?: number;
  size: number;
}

/** The entries of a .tar.gz (read by the system's tar, as a user would) or a .zip (central directory). */
export function archiveEntries(path: string): ArchiveEntry[] {
  return path.endsWith(".zip") ? zipEntries(readFileSync(path)).map(({ name, mode, size }) => ({ name, mode, size })) : tarEntries(path);
}

function tarEntries(path: string): ArchiveEntry[] {
  // GNU tar's verbose listing: "-rwxr-xr-x user/group SIZE DATE TIME NAME"
  const p = Bun.spawnSync(["tar", "-tzvf", path, "--numeric-owner"], { env: { ...process.env, LC_ALL: "C", TZ: "UTC" } });
  if (p.exitCode !== 0) throw new Error(`tar -tzvf ${path}: ${p.stderr.toString()}`);
  return p.stdout
    .toString()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const m = /^([-dlhcbps])([-rwxsStT]{9})\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
      if (!m) throw new Error(`unexpected tar listing line: ${line}`);
      const bits = m[2]!;
      const mode = [...bits].reduce((acc, c, i) => acc | (c === "-" || c === "S" || c === "T" ? 0 : 1 << (8 - i)), 0);
      const name = m[1] === "d" && !m[4]!.endsWith("/") ? `${m[4]}/` : m[4]!;
      if (m[1] !== "-" && m[1] !== "d") return { name: `${name} (type ${m[1]})`, mode, size: Number(m[3]) };
      return { name, mode, size: Number(m[3]) };
    });
}

interface ZipEntry extends ArchiveEntry {
  method: number;
  crc32: number;
  compressedSize: number;
  localOffset: number;
}

/** A zip's central directory (no zip64: every release archive is far below 4 GiB). */
function zipEntries(zip: Uint8Array): ZipEntry[] {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (eocd >= 0 && v.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip: no end of central directory record");
  const count = v.getUint16(eocd + 10, true);
  const entries: ZipEntry[] = [];
  for (let i = 0, at = v.getUint32(eocd + 16, true); i < count; i++) {
    if (v.getUint32(at, true) !== 0x02014b50) throw new Error(`zip central directory entry ${i} at ${at}: bad signature`);
    const madeBy = v.getUint8(at + 5); // 3: Unix, whose permission bits are in the high half of the external attributes
    const nameLength = v.getUint16(at + 28, true);
    const extraLength = v.getUint16(at + 30, true);
    const commentLength = v.getUint16(at + 32, true);
    const external = v.getUint32(at + 38, true);
    entries.push({
      name: new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength)),
      method: v.getUint16(at + 10, true),
      crc32: v.getUint32(at + 16, true),
      compressedSize: v.getUint32(at + 20, true),
      size: v.getUint32(at + 24, true),
      localOffset: v.getUint32(at + 42, true),
      mode: madeBy === 3 ? (external >>> 16) & 0o777 : undefined,
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** One file of a zip, inflated and checked against its CRC-32. */
function zipRead(zip: Uint8Array, e: ZipEntry): Uint8Array {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  if (v.getUint32(e.localOffset, true) !== 0x04034b50) throw new Error(`${e.name}: bad local header`);
  const start = e.localOffset + 30 + v.getUint16(e.localOffset + 26, true) + v.getUint16(e.localOffset + 28, true);
  const raw = zip.subarray(start, start + e.compressedSize);
  const data = e.method === 0 ? raw : e.method === 8 ? new Uint8Array(inflateRawSync(raw)) : undefined;
  if (!data) throw new Error(`${e.name}: compression method ${e.method} is not stored or deflate`);
  if (data.length !== e.size || Bun.hash.crc32(data) !== e.crc32) throw new Error(`${e.name}: size or CRC-32 does not match the zip's directory`);
  return data;
}

/**
 * The archive of `target` unpacked into a new temp folder (tar: the system's tar; zip: read here,
 * CRC-checked): that folder, the release folder inside it, and the binary's path. `cleanup()` removes it.
 */
export function extractRelease(target: Target): { dir: string; folder: string; binary: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `ferry-release-${target}-`));
  const archive = archivePath(target);
  if (archive.endsWith(".zip")) {
    const zip = readFileSync(archive);
    for (const e of zipEntries(zip)) {
      if (e.name.startsWith("/") || e.name.split("/").includes("..")) throw new Error(`zip entry ${e.name} escapes the folder`);
      const out = join(dir, e.name);
      if (e.name.endsWith("/")) mkdirSync(out, { recursive: true });
      else {
        mkdirSync(resolve(out, ".."), { recursive: true });
        writeFileSync(out, zipRead(zip, e));
      }
    }
  } else {
    const p = Bun.spawnSync(["tar", "-xzf", archive, "-C", dir]);
    if (p.exitCode !== 0) throw new Error(`tar -xzf ${archive}: ${p.stderr.toString()}`);
  }
  const folder = join(dir, releaseName(target));
  return { dir, folder, binary: join(folder, binaryName(target)), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The binary of `target` read straight from its archive (no folder written). */
export function readReleaseBinary(target: Target): Uint8Array {
  const archive = archivePath(target);
  const member = `${releaseName(target)}/${binaryName(target)}`;
  if (archive.endsWith(".zip")) {
    const zip = readFileSync(archive);
    const entry = zipEntries(zip).find((e) => e.name === member);
    if (!entry) throw new Error(`${archive} has no ${member}`);
    return zipRead(zip, entry);
  }
  const p = Bun.spawnSync(["tar", "-xzOf", archive, member], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`tar -xzOf ${archive} ${member}: ${p.stderr.toString()}`);
  return new Uint8Array(p.stdout.buffer, p.stdout.byteOffset, p.stdout.byteLength);
}
