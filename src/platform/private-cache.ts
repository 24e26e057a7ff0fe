/**
 * A folder only this user can write, and files in it that are trusted by their content.
 * Native code (DuckDB's library, its addon and extensions) embedded in the binary is written out
 * here and loaded from here: a folder another local user could write, or a file trusted by its
 * size, would let them run code as this user.
 *
 * Linux and macOS: a folder is private when it is a real directory owned by this user without
 * group or other write bits, and every folder above it is owned by this user or root and writable
 * by no one else (or sticky, as /tmp is, so others cannot rename what is ours inside it). Tried in
 * turn: $XDG_CACHE_HOME/ferry, then ~/Library/Caches/ferry (macOS) or ~/.cache/ferry, then
 * <tmp>/ferry-<uid>; when none is private, a fresh folder from mkdtemp.
 * Windows has no owner ids or mode bits to read from here: the folder is %LOCALAPPDATA%\ferry (or
 * <tmp>\ferry, %TEMP% being under the user's profile too), whose access list Windows inherits from
 * the user's profile (the user, SYSTEM and Administrators); ferry checks that it and the files in
 * it are real (no symbolic link or junction), not their access lists.
 * On every platform, a file is used only when its SHA-256 is the one recorded at build time,
 * checked at every start; any other is replaced.
 */
import { chmodSync, closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { sha256File } from "./hash.ts";

const uid = () => process.getuid?.() ?? -1;
const windows = (platform: string) => platform === "win32";

/** Why `dir` is not private, or undefined when it is (see the module's comment for each platform). */
export function notPrivate(dir: string, platform: string = process.platform): string | undefined {
  let real: string;
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
    if (!st.isDirectory()) return `${dir} is not a folder`;
    if (windows(platform)) return undefined;
    if (st.uid !== uid()) return `${dir} is owned by uid ${st.uid}, not ${uid()}`;
    if ((st.mode & 0o022) !== 0) return `${dir} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
    real = realpathSync(dir);
  } catch (e) {
    return `${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  for (let above = dirname(real); ; above = dirname(above)) {
    const st = statSync(above);
    if (st.uid !== uid() && st.uid !== 0) return `${above} (above ${dir}) is owned by uid ${st.uid}`;
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return `${above} (above ${dir}) is writable by group or others and not sticky`;
    if (above === dirname(above)) return undefined;
  }
}

/** `dir` made (0700) if missing, and returned if private; otherwise why not. */
function claim(dir: string, platform: string): { dir: string } | { refused: string } {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return { refused: `${dir}: cannot create it (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
  const why = notPrivate(dir, platform);
  return why ? { refused: why } : { dir };
}

export interface CacheRoots {
  /** process.platform by default. */
  platform?: string;
  xdgCacheHome?: string;
  home?: string;
  /** Windows: %LOCALAPPDATA%. */
  localAppData?: string;
  tmp?: string;
}

/** The folders tried for the cache, in order (each gets `<name>` inside). */
export function cacheRoots(roots: CacheRoots): string[] {
  const platform = roots.platform ?? process.platform;
  const tmp = roots.tmp ?? tmpdir();
  const absolute = (path: string | undefined): path is string => !!path && isAbsolute(path);
  if (windows(platform)) return [...(absolute(roots.localAppData) ? [join(roots.localAppData, "ferry")] : []), join(tmp, "ferry")];
  const candidates: string[] = [];
  if (absolute(roots.xdgCacheHome)) candidates.push(join(roots.xdgCacheHome, "ferry"));
  if (absolute(roots.home)) candidates.push(platform === "darwin" ? join(roots.home, "Library", "Caches", "ferry") : join(roots.home, ".cache", "ferry"));
  candidates.push(join(tmp, `ferry-${uid()}`));
  return candidates;
}

/**
 * A private folder `<root>/<name>`, trying each of cacheRoots in turn; when none is private, a
 * fresh one from mkdtemp. `refused` says why the others were passed over.
 */
export function privateCacheDir(name: string, roots: CacheRoots = defaultRoots()): { dir: string; refused: string[] } {
  const platform = roots.platform ?? process.platform;
  const refused: string[] = [];
  for (const root of cacheRoots(roots)) {
    const claimed = claim(root, platform);
    if ("refused" in claimed) {
      refused.push(claimed.refused);
      continue;
    }
    const leaf = claim(join(root, name), platform);
    if ("dir" in leaf) return { dir: leaf.dir, refused };
    refused.push(leaf.refused);
  }
  const fresh = mkdtempSync(join(roots.tmp ?? tmpdir(), `ferry-${name}-`)); // 0700, a name no one could predict
  const why = notPrivate(fresh, platform);
  if (why) throw new Error(`no private folder for ${name}: ${[...refused, why].join("; ")}`);
  return { dir: fresh, refused };
}

function defaultRoots(): CacheRoots {
  return { xdgCacheHome: process.env.XDG_CACHE_HOME, home: homedir(), localAppData: process.env.LOCALAPPDATA, tmp: tmpdir() };
}

/** Why the file at `path` cannot be used as the copy whose SHA-256 is `sha256`, or undefined. */
export function notTrusted(path: string, sha256: string, platform: string = process.platform): string | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    return `${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  if (!st.isFile()) return `${path} is not a regular file`;
  if (!windows(platform)) {
    if (st.uid !== uid()) return `${path} is owned by uid ${st.uid}`;
    if ((st.mode & 0o022) !== 0) return `${path} is writable by group or others`;
  }
  const actual = sha256File(path);
  return actual === sha256 ? undefined : `${path} has SHA-256 ${actual}, expected ${sha256}`;
}

/**
 * The most written at once. A library written in megabyte writes lands in the page cache as large
 * folios, and every later process that maps it is charged for them: ferry's resident memory on a
 * warm start was ~25 MB higher (measured on Linux 6.18, ext4: 1 MiB writes ~164 MB, 64 KiB writes
 * ~137 MB, the same as a file copied by the kernel).
 */
const WRITE_PIECE = 64 * 1024;

/** A file of a pack: its name when written out, its size and the SHA-256 of its content. */
export interface PackEntry {
  name: string;
  size: number;
  sha256: string;
}

/** Files stored back to back in one file, `zstd`-compressed as one stream or as they are. */
export interface Pack {
  path: string;
  zstd: boolean;
  files: PackEntry[];
}

/**
 * The paths of verified copies of the pack's files named in `wanted` (name → the private folder it
 * goes to): the copy there when its SHA-256 is the recorded one (checked at every call); the others
 * are written from the pack, read as a stream (memory stays at zstd's window, not the files' size)
 * as far as the last of them: each to a temporary name (created exclusively, 0600), hashed as it is
 * written, fsynced, made read-only (0500) and renamed in place. `replaced` says why an existing
 * file was not used.
 */
export async function verifiedPack(pack: Pack, wanted: ReadonlyMap<string, string>): Promise<Map<string, { path: string; replaced?: string }>> {
  const out = new Map<string, { path: string; replaced?: string }>();
  const todo = new Map<string, { entry: PackEntry; dir: string; why: string }>();
  for (const [name, dir] of wanted) {
    const entry = pack.files.find((f) => f.name === name);
    if (!entry) throw new Error(`${name} is not in the embedded pack ${pack.path}`);
    const why = notTrusted(join(dir, name), entry.sha256);
    if (why === undefined) out.set(name, { path: join(dir, name) });
    else todo.set(name, { entry, dir, why });
  }
  if (todo.size === 0) return out;

  const writing = new Map<string, { fd: number; temp: string; hasher: Bun.CryptoHasher; written: number }>();
  const abandon = () => {
    for (const w of writing.values()) {
      try {
        closeSync(w.fd);
      } catch {}
      try {
        unlinkSync(w.temp);
      } catch {}
    }
  };
  try {
    for (const { entry, dir } of todo.values()) {
      const temp = join(dir, `.${entry.name}.${process.pid}.${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}.tmp`);
      writing.set(entry.name, { fd: openSync(temp, "wx", 0o600), temp, hasher: new Bun.CryptoHasher("sha256"), written: 0 }); // ours alone, from the start
    }
    const last = Math.max(...[...todo.values()].map(({ entry }) => pack.files.indexOf(entry)));
    let stream = Bun.file(pack.path).stream() as ReadableStream<Uint8Array>;
    if (pack.zstd) stream = stream.pipeThrough(new DecompressionStream("zstd") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
    const reader = stream.getReader();
    let index = 0;
    let left = pack.files[0]?.size ?? 0;
    const skipEmpty = () => {
      while (index <= last && left === 0) left = pack.files[++index]?.size ?? 0;
    };
    skipEmpty();
    while (index <= last) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the embedded pack ${pack.path} ends inside ${pack.files[index]!.name}`);
      for (let at = 0; at < value.length && index <= last; skipEmpty()) {
        const n = Math.min(left, value.length - at);
        const w = writing.get(pack.files[index]!.name);
        if (w && n > 0) {
          const chunk = value.subarray(at, at + n);
          for (let off = 0; off < chunk.length; ) off += writeSync(w.fd, chunk, off, Math.min(WRITE_PIECE, chunk.length - off));
          w.hasher.update(chunk);
          w.written += n;
        }
        at += n;
        left -= n;
      }
    }
    await reader.cancel();
    for (const [name, w] of writing) {
      const { entry } = todo.get(name)!;
      const sha = w.hasher.digest("hex");
      if (w.written !== entry.size || sha !== entry.sha256) throw new Error(`the embedded ${name} does not match the SHA-256 recorded at build time: ${w.written} bytes with SHA-256 ${sha}, expected ${entry.size} bytes with ${entry.sha256}`);
      fsyncSync(w.fd);
      fchmodSync(w.fd, 0o500);
    }
  } catch (e) {
    abandon();
    throw e;
  }
  for (const [name, w] of writing) {
    closeSync(w.fd);
    const { dir, why } = todo.get(name)!;
    out.set(name, place(w.temp, join(dir, name), todo.get(name)!.entry.sha256, why));
  }
  for (const dir of new Set([...todo.values()].map((t) => t.dir))) syncDir(dir);
  return out;
}

/**
 * The path of a verified copy of the file `source` named `name` in the private folder `dir` (see
 * verifiedPack: a pack of one file, as it is).
 */
export async function verifiedCopy(source: string, dir: string, name: string, sha256: string): Promise<{ path: string; replaced?: string }> {
  const pack = { path: source, zstd: false, files: [{ name, size: Bun.file(source).size, sha256 }] };
  return (await verifiedPack(pack, new Map([[name, dir]]))).get(name)!;
}

/** Moves the checked temporary file onto `target` (atomic: concurrent first runs never see half a file). */
function place(temp: string, target: string, sha256: string, why: string): { path: string; replaced?: string } {
  if (windows(process.platform)) placeOnWindows(temp, target, sha256, why);
  else renameSync(temp, target);
  return ENOENT.test(why) ? { path: target } : { path: target, replaced: why };
}

function syncDir(dir: string) {
  if (windows(process.platform)) return; // no directory handles to fsync there
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const ENOENT = /: ENOENT$/;

/**
 * Windows renames over neither a read-only file nor one in use: a bad copy is removed first, and
 * a rename that loses to another process's first run keeps that one's copy if it is good.
 */
function placeOnWindows(temp: string, target: string, sha256: string, why: string): void {
  if (!ENOENT.test(why)) {
    try {
      chmodSync(target, 0o600);
      unlinkSync(target);
    } catch {} // in use: the rename below fails and says so
  }
  try {
    renameSync(temp, target);
  } catch (e) {
    chmodSync(temp, 0o600);
    unlinkSync(temp);
    if (notTrusted(target, sha256) !== undefined) throw e;
  }
}
