/** The private folder and the hash-checked copies native code is loaded from (src/platform/private-cache.ts). */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256File } from "../../../src/platform/hash.ts";
import { cacheRoots, notPrivate, privateCacheDir, verifiedCopy, verifiedPack } from "../../../src/platform/private-cache.ts";

const uid = process.getuid!();
const made: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "ferry-private-cache-test-"));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o7777;

describe("privateCacheDir", () => {
  test("makes <XDG_CACHE_HOME>/ferry/<name> with mode 0700, owned by this user", () => {
    const base = scratch();
    const { dir, refused } = privateCacheDir("lib-1", { xdgCacheHome: join(base, "xdg"), home: join(base, "home"), tmp: base });
    expect(dir).toBe(join(base, "xdg", "ferry", "lib-1"));
    expect(refused).toEqual([]);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(base, "xdg", "ferry"))).toBe(0o700);
    expect(statSync(dir).uid).toBe(uid);
  });

  test("a folder with mode 0777 is not used: the next private one is", () => {
    const base = scratch();
    mkdirSync(join(base, "xdg", "ferry", "lib-1"), { recursive: true });
    chmodSync(join(base, "xdg", "ferry", "lib-1"), 0o777);
    const { dir, refused } = privateCacheDir("lib-1", { xdgCacheHome: join(base, "xdg"), home: join(base, "home"), tmp: base });
    expect(dir).toBe(join(base, "home", ".cache", "ferry", "lib-1"));
    expect(refused).toEqual([expect.stringContaining("writable by group or others (mode 777)")]);
  });

  test("a group-writable, not sticky folder above it is refused too", () => {
    const base = scratch();
    mkdirSync(join(base, "xdg"), { recursive: true });
    chmodSync(join(base, "xdg"), 0o775);
    const { dir, refused } = privateCacheDir("lib-1", { xdgCacheHome: join(base, "xdg"), home: join(base, "home"), tmp: base });
    expect(dir).toBe(join(base, "home", ".cache", "ferry", "lib-1"));
    expect(refused[0]).toContain("is writable by group or others and not sticky");
  });

  test.skipIf(uid !== 0)("a folder owned by another user is not used (needs root to chown)", () => {
    const base = scratch();
    mkdirSync(join(base, "xdg", "ferry"), { recursive: true, mode: 0o700 });
    chownSync(join(base, "xdg", "ferry"), 12345, 12345);
    const { dir, refused } = privateCacheDir("lib-1", { xdgCacheHome: join(base, "xdg"), home: join(base, "home"), tmp: base });
    expect(dir).toBe(join(base, "home", ".cache", "ferry", "lib-1"));
    expect(refused).toEqual([expect.stringContaining("is owned by uid 12345")]);
  });

  test("a symbolic link planted where the folder goes is not followed", () => {
    const base = scratch();
    const elsewhere = join(base, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o700 });
    mkdirSync(join(base, "xdg", "ferry"), { recursive: true, mode: 0o700 });
    symlinkSync(elsewhere, join(base, "xdg", "ferry", "lib-1"));
    const { dir, refused } = privateCacheDir("lib-1", { xdgCacheHome: join(base, "xdg"), home: join(base, "home"), tmp: base });
    expect(dir).toBe(join(base, "home", ".cache", "ferry", "lib-1"));
    expect(refused).toEqual([expect.stringContaining("is a symbolic link")]);
  });

  test("when no candidate is private (a planted <tmp>/ferry-<uid> among them), a fresh mkdtemp folder is used", () => {
    const base = scratch();
    mkdirSync(join(base, `ferry-${uid}`), { mode: 0o777 });
    chmodSync(join(base, `ferry-${uid}`), 0o777);
    const { dir, refused } = privateCacheDir("lib-1", { tmp: base });
    expect(dir.startsWith(join(base, "ferry-lib-1-"))).toBe(true);
    expect(mode(dir)).toBe(0o700);
    expect(refused).toHaveLength(1);
    expect(notPrivate(dir)).toBeUndefined();
    // Each call makes another: its name cannot be predicted.
    expect(privateCacheDir("lib-1", { tmp: base }).dir).not.toBe(dir);
  });
});

describe("verifiedCopy", () => {
  function source(bytes: Uint8Array) {
    const base = scratch();
    const path = join(base, "source.so");
    writeFileSync(path, bytes);
    const dir = join(base, "cache");
    mkdirSync(dir, { mode: 0o700 });
    return { path, dir, sha256: sha256File(path) };
  }
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

  test("writes a read-only copy (0500) whose content is the source's, leaving no temporary file", async () => {
    const s = source(bytes(300_000, 1));
    const { path, replaced } = await verifiedCopy(s.path, s.dir, "lib.so", s.sha256);
    expect(path).toBe(join(s.dir, "lib.so"));
    expect(replaced).toBeUndefined();
    expect(mode(path)).toBe(0o500);
    expect(readFileSync(path)).toEqual(readFileSync(s.path));
    expect(readdirSync(s.dir)).toEqual(["lib.so"]);
  });

  test("a planted file of the same size with other bytes is replaced", async () => {
    const s = source(bytes(300_000, 1));
    const planted = join(s.dir, "lib.so");
    writeFileSync(planted, bytes(300_000, 2), { mode: 0o500 });
    expect(statSync(planted).size).toBe(statSync(s.path).size);
    const { path, replaced } = await verifiedCopy(s.path, s.dir, "lib.so", s.sha256);
    expect(replaced).toContain(`expected ${s.sha256}`);
    expect(sha256File(path)).toBe(s.sha256);
    expect(readFileSync(path)).toEqual(readFileSync(s.path));
  });

  test("a planted symbolic link to the right bytes is replaced by a real file", async () => {
    const s = source(bytes(1000, 3));
    symlinkSync(s.path, join(s.dir, "lib.so"));
    const { path, replaced } = await verifiedCopy(s.path, s.dir, "lib.so", s.sha256);
    expect(replaced).toContain("is not a regular file");
    expect(statSync(path).isFile()).toBe(true);
    expect(sha256File(path)).toBe(s.sha256);
  });

  test("a group-writable copy with the right bytes is replaced", async () => {
    const s = source(bytes(1000, 4));
    writeFileSync(join(s.dir, "lib.so"), readFileSync(s.path));
    chmodSync(join(s.dir, "lib.so"), 0o664);
    const { replaced, path } = await verifiedCopy(s.path, s.dir, "lib.so", s.sha256);
    expect(replaced).toContain("writable by group or others");
    expect(mode(path)).toBe(0o500);
  });

  test("a good copy is kept as it is (checked, not rewritten)", async () => {
    const s = source(bytes(1000, 5));
    const first = await verifiedCopy(s.path, s.dir, "lib.so", s.sha256);
    const inode = statSync(first.path).ino;
    const again = await verifiedCopy(s.path, s.dir, "lib.so", s.sha256);
    expect(again).toEqual({ path: first.path });
    expect(statSync(again.path).ino).toBe(inode);
  });

  test("a source that does not match the recorded hash is refused, and nothing is left behind", async () => {
    const s = source(bytes(1000, 6));
    const wrong = "0".repeat(64);
    await expect(verifiedCopy(s.path, s.dir, "lib.so", wrong)).rejects.toThrow(/does not match the SHA-256 recorded at build time/);
    expect(readdirSync(s.dir)).toEqual([]);
    expect(existsSync(join(s.dir, "lib.so"))).toBe(false);
  });
});

test("sha256File reads in chunks and agrees with a one-shot hash at chunk edges", () => {
  const base = scratch();
  for (const n of [0, 1, 4095, 4096, 4097, 3 * 4096]) {
    const path = join(base, `f${n}`);
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
    writeFileSync(path, data);
    expect(sha256File(path, 4096)).toBe(new Bun.CryptoHasher("sha256").update(data).digest("hex"));
  }
});

describe("cacheRoots: where each platform looks", () => {
  test("Linux: $XDG_CACHE_HOME/ferry, ~/.cache/ferry, <tmp>/ferry-<uid>; relative settings are skipped", () => {
    expect(cacheRoots({ platform: "linux", xdgCacheHome: "/x", home: "/h", tmp: "/t" })).toEqual(["/x/ferry", "/h/.cache/ferry", `/t/ferry-${uid}`]);
    expect(cacheRoots({ platform: "linux", xdgCacheHome: "rel", home: "", tmp: "/t" })).toEqual([`/t/ferry-${uid}`]);
  });

  test("macOS: ~/Library/Caches/ferry instead of ~/.cache", () => {
    expect(cacheRoots({ platform: "darwin", xdgCacheHome: "/x", home: "/Users/u", tmp: "/var/folders/t" })).toEqual(["/x/ferry", "/Users/u/Library/Caches/ferry", `/var/folders/t/ferry-${uid}`]);
  });

  test("Windows: %LOCALAPPDATA%\\ferry, then the user's temp folder; no XDG, no uid", () => {
    const roots = cacheRoots({ platform: "win32", xdgCacheHome: "/x", home: "/h", localAppData: "/lad", tmp: "/t" });
    expect(roots).toEqual([join("/lad", "ferry"), join("/t", "ferry")]);
    expect(cacheRoots({ platform: "win32", tmp: "/t" })).toEqual([join("/t", "ferry")]);
  });
});

describe("notPrivate on Windows (no owners or mode bits to read): a real folder, no link", () => {
  test("a folder any mode bits would refuse elsewhere is accepted; a symbolic link or a file is not", () => {
    const base = scratch();
    const open = join(base, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(notPrivate(open, "linux")).toContain("writable by group or others");
    expect(notPrivate(open, "win32")).toBeUndefined();
    symlinkSync(open, join(base, "link"));
    expect(notPrivate(join(base, "link"), "win32")).toContain("is a symbolic link");
    writeFileSync(join(base, "file"), "x");
    expect(notPrivate(join(base, "file"), "win32")).toContain("is not a folder");
  });

  test("privateCacheDir on Windows uses %LOCALAPPDATA%\\ferry\\<name>", () => {
    const base = scratch();
    const { dir, refused } = privateCacheDir("lib-1", { platform: "win32", localAppData: join(base, "lad"), tmp: base });
    expect({ dir, refused }).toEqual({ dir: join(base, "lad", "ferry", "lib-1"), refused: [] });
  });
});

describe("verifiedPack: files stored back to back, zstd-compressed as one stream", () => {
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => ((i >> 4) * 31 + seed) & 0xff);
  const files = [
    { name: "lib.so", data: bytes(300_000, 1) },
    { name: "empty", data: new Uint8Array(0) },
    { name: "addon.node", data: bytes(70_000, 2) },
    { name: "ext", data: bytes(200_001, 3) },
  ];
  const entry = (f: { name: string; data: Uint8Array }) => ({ name: f.name, size: f.data.length, sha256: new Bun.CryptoHasher("sha256").update(f.data).digest("hex") });
  function pack(zstd = true, tamper?: (data: Uint8Array) => void) {
    const base = scratch();
    const all = Buffer.concat(files.map((f) => f.data));
    tamper?.(all);
    const path = join(base, "pack");
    writeFileSync(path, zstd ? Bun.zstdCompressSync(all, { level: 3 }) : all);
    const dir = join(base, "cache");
    mkdirSync(dir, { mode: 0o700 });
    return { pack: { path, zstd, files: files.map(entry) }, dir };
  }

  test("writes the files asked for, each read-only (0500) with its content; others are not written", async () => {
    for (const zstd of [true, false]) {
      const { pack: p, dir } = pack(zstd);
      const out = await verifiedPack(p, new Map([["lib.so", dir], ["addon.node", dir], ["empty", dir]]));
      expect([...out.keys()].sort()).toEqual(["addon.node", "empty", "lib.so"]);
      for (const f of files.filter((f) => f.name !== "ext")) {
        expect(out.get(f.name)).toEqual({ path: join(dir, f.name) });
        expect(new Uint8Array(readFileSync(join(dir, f.name)))).toEqual(f.data);
        expect(mode(join(dir, f.name))).toBe(0o500);
      }
      expect(readdirSync(dir).sort()).toEqual(["addon.node", "empty", "lib.so"]);
    }
  });

  test("the last file too, into a folder of its own; a good copy is kept as it is", async () => {
    const { pack: p, dir } = pack();
    const other = join(dir, "other");
    mkdirSync(other, { mode: 0o700 });
    await verifiedPack(p, new Map([["ext", other]]));
    expect(new Uint8Array(readFileSync(join(other, "ext")))).toEqual(files[3]!.data);
    const inode = statSync(join(other, "ext")).ino;
    expect(await verifiedPack(p, new Map([["ext", other]]))).toEqual(new Map([["ext", { path: join(other, "ext") }]]));
    expect(statSync(join(other, "ext")).ino).toBe(inode);
  });

  test("a planted file of the same size with other bytes is replaced", async () => {
    const { pack: p, dir } = pack();
    writeFileSync(join(dir, "addon.node"), bytes(70_000, 9), { mode: 0o500 });
    const out = await verifiedPack(p, new Map([["addon.node", dir]]));
    expect(out.get("addon.node")!.replaced).toContain(`expected ${entry(files[2]!).sha256}`);
    expect(new Uint8Array(readFileSync(join(dir, "addon.node")))).toEqual(files[2]!.data);
  });

  test("a pack whose content does not match the recorded SHA-256 is refused, and nothing is left behind", async () => {
    const { pack: p, dir } = pack(true, (all) => {
      all[300_000 + 70_000 + 5]! ^= 1; // a byte of ext
    });
    await expect(verifiedPack(p, new Map([["lib.so", dir], ["ext", dir]]))).rejects.toThrow(/the embedded ext does not match the SHA-256 recorded at build time/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a pack cut short and a name not in it are errors", async () => {
    const { pack: p, dir } = pack(false);
    writeFileSync(p.path, readFileSync(p.path).subarray(0, 350_000));
    await expect(verifiedPack(p, new Map([["addon.node", dir]]))).rejects.toThrow("ends inside addon.node");
    expect(readdirSync(dir)).toEqual([]);
    await expect(verifiedPack(p, new Map([["nope", dir]]))).rejects.toThrow("nope is not in the embedded pack");
  });
});
