/**
 * A folder only this user can write, and files in it that are trusted by their content.
 * Native code (DuckDB's library, its extensions) embedded in the binary is written out here and
 * loaded from here: a folder another local user could write, or a file trusted by its size, would
 * let them run code as this user.
 *
 * A folder is private when it is a real directory owned by this user without group or other write
 * bits, and every folder above it is owned by this user or root and writable by no one else (or
 * sticky, as /tmp is, so others cannot rename what is ours inside it).
 */
import { closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, realpathSync, renameSync, statSync, unlinkSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { sha256File } from "./hash.ts";

const uid = () => process.getuid?.() ?? -1;

/** Why `dir` is not private, or undefined when it is. */
export function notPrivate(dir: string): string | undefined {
  let real: string;
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
    if (!st.isDirectory()) return `${dir} is not a folder`;
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
function claim(dir: string): { dir: string } | { refused: string } {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return { refused: `${dir}: cannot create it (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
  const why = notPrivate(dir);
  return why ? { refused: why } : { dir };
}

export interface CacheRoots {
  xdgCacheHome?: string;
  home?: string;
  tmp?: string;
}

/**
 * A private folder `<root>/<name>`, trying in turn $XDG_CACHE_HOME/ferry, ~/.cache/ferry and
 * <tmp>/ferry-<uid>; when none is private, a fresh one from mkdtemp. `refused` says why the
 * others were passed over.
 */
export function privateCacheDir(name: string, roots: CacheRoots = defaultRoots()): { dir: string; refused: string[] } {
  const refused: string[] = [];
  const candidates: string[] = [];
  if (roots.xdgCacheHome && isAbsolute(roots.xdgCacheHome)) candidates.push(join(roots.xdgCacheHome, "ferry"));
  if (roots.home && isAbsolute(roots.home)) candidates.push(join(roots.home, ".cache", "ferry"));
  const tmp = roots.tmp ?? tmpdir();
  candidates.push(join(tmp, `ferry-${uid()}`));
  for (const root of candidates) {
    const claimed = claim(root);
    if ("refused" in claimed) {
      refused.push(claimed.refused);
      continue;
    }
    const leaf = claim(join(root, name));
    if ("dir" in leaf) return { dir: leaf.dir, refused };
    refused.push(leaf.refused);
  }
  const fresh = mkdtempSync(join(tmp, `ferry-${name}-`)); // 0700, a name no one could predict
  const why = notPrivate(fresh);
  if (why) throw new Error(`no private folder for ${name}: ${[...refused, why].join("; ")}`);
  return { dir: fresh, refused };
}

function defaultRoots(): CacheRoots {
  return { xdgCacheHome: process.env.XDG_CACHE_HOME, home: homedir(), tmp: tmpdir() };
}

/** Why the file at `path` cannot be used as the copy whose SHA-256 is `sha256`, or undefined. */
export function notTrusted(path: string, sha256: string): string | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    return `${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  if (!st.isFile()) return `${path} is not a regular file`;
  if (st.uid !== uid()) return `${path} is owned by uid ${st.uid}`;
  if ((st.mode & 0o022) !== 0) return `${path} is writable by group or others`;
  const actual = sha256File(path);
  return actual === sha256 ? undefined : `${path} has SHA-256 ${actual}, expected ${sha256}`;
}

/**
 * The path of a verified copy of `source` named `name` in the private folder `dir`: the copy
 * there when its SHA-256 is `sha256` (checked at every call), else a new one written to a temporary
 * name (created exclusively, 0600), fsynced, checked, made read-only (0500) and renamed in place.
 * `replaced` says why an existing file was not used.
 */
export async function verifiedCopy(source: string, dir: string, name: string, sha256: string): Promise<{ path: string; replaced?: string }> {
  const target = join(dir, name);
  const why = notTrusted(target, sha256);
  if (why === undefined) return { path: target };
  const temp = join(dir, `.${name}.${process.pid}.${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}.tmp`);
  closeSync(openSync(temp, "wx", 0o600)); // ours alone, from the start
  let fd: number | undefined;
  try {
    // The runtime's own copy (copy_file_range where it can): a library written in large writes
    // showed ~20 MB more resident memory once mapped than one copied like this.
    await Bun.write(temp, Bun.file(source));
    fd = openSync(temp, "r");
    fsyncSync(fd);
    fchmodSync(fd, 0o500);
  } catch (e) {
    unlinkSync(temp);
    throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const wrong = notTrusted(temp, sha256);
  if (wrong !== undefined) {
    unlinkSync(temp);
    throw new Error(`the embedded ${name} does not match the SHA-256 recorded at build time: ${wrong}`);
  }
  renameSync(temp, target); // atomic: concurrent first runs never see half a file
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return ENOENT.test(why) ? { path: target } : { path: target, replaced: why };
}

const ENOENT = /: ENOENT$/;
