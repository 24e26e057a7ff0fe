/**
 * Packing a release (scripts/release.ts): the archive of each platform holds one folder
 * ferry-<version>-<os>-<arch>/ with the executable (mode 755) and the documents; SHA256SUMS is
 * what `sha256sum --check` reads.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archiveName, archiveNameOf, packRelease, releaseName, releaseNameOf, writeSums } from "../../../scripts/release.ts";
import pkg from "../../../package.json" with { type: "json" };

const dir = mkdtempSync(join(tmpdir(), "ferry-release-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const binary = Uint8Array.from({ length: 100_000 }, (_, i) => (i >> 6) & 0xff);
const docs = [{ name: "README.md", data: new TextEncoder().encode("# ferry\n") }];

test("names: <version>-<os>-<arch>, .zip for Windows only", () => {
  expect(releaseNameOf("1.2.3", "darwin-arm64")).toBe("ferry-1.2.3-darwin-arm64");
  expect(archiveNameOf("1.2.3", "linux-arm64")).toBe("ferry-1.2.3-linux-arm64.tar.gz");
  expect(archiveNameOf("1.2.3", "windows-x64")).toBe("ferry-1.2.3-windows-x64.zip");
  expect((["linux-x64", "windows-x64"] as const).map(archiveName)).toEqual([`ferry-${pkg.version}-linux-x64.tar.gz`, `ferry-${pkg.version}-windows-x64.zip`]);
  expect(releaseName("darwin-x64")).toBe(`ferry-${pkg.version}-darwin-x64`);
});

test("a .tar.gz as the system's tar lists it: the folder, ferry executable, README.md", () => {
  const path = join(dir, archiveNameOf("1.2.3", "linux-arm64"));
  writeFileSync(path, packRelease("linux-arm64", binary, docs, "1.2.3"));
  const list = Bun.spawnSync(["tar", "-tzvf", path], { env: { ...process.env, LC_ALL: "C" } });
  expect(list.stderr.toString()).toBe("");
  expect(list.stdout.toString().trim().split("\n").map((l) => { const f = l.split(/\s+/); return [f[0], f[2], f.at(-1)]; })).toEqual([
    ["drwxr-xr-x", "0", "ferry-1.2.3-linux-arm64/"],
    ["-rwxr-xr-x", "100000", "ferry-1.2.3-linux-arm64/ferry"],
    ["-rw-r--r--", "8", "ferry-1.2.3-linux-arm64/README.md"],
  ]);
  expect(packRelease("linux-arm64", binary, docs, "1.2.3")).toEqual(packRelease("linux-arm64", binary, docs, "1.2.3")); // reproducible: fixed times (the last commit's)
});

test("a .zip for Windows with ferry.exe", () => {
  const path = join(dir, archiveNameOf("1.2.3", "windows-x64"));
  writeFileSync(path, packRelease("windows-x64", binary, docs, "1.2.3"));
  const r = Bun.spawnSync(["python3", "-c", "import sys, zipfile; print('\\n'.join(f'{i.filename} {i.file_size}' for i in zipfile.ZipFile(sys.argv[1]).infolist()))", path]);
  expect(r.stdout.toString().trim().split("\n")).toEqual(["ferry-1.2.3-windows-x64/ 0", "ferry-1.2.3-windows-x64/ferry.exe 100000", "ferry-1.2.3-windows-x64/README.md 8"]);
});

test("SHA256SUMS names every archive of the folder, sorted, and sha256sum --check agrees", () => {
  const out = join(dir, "rel");
  mkdirSync(out);
  writeFileSync(join(out, "ferry-1.2.3-windows-x64.zip"), "zip");
  writeFileSync(join(out, "ferry-1.2.3-linux-x64.tar.gz"), "tgz");
  writeFileSync(join(out, "notes.txt"), "not an archive");
  const text = writeSums(out);
  expect(text).toBe(
    `${new Bun.CryptoHasher("sha256").update("tgz").digest("hex")}  ferry-1.2.3-linux-x64.tar.gz\n${new Bun.CryptoHasher("sha256").update("zip").digest("hex")}  ferry-1.2.3-windows-x64.zip\n`,
  );
  const check = Bun.spawnSync(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: out });
  expect({ code: check.exitCode, out: check.stdout.toString() }).toEqual({ code: 0, out: "ferry-1.2.3-linux-x64.tar.gz: OK\nferry-1.2.3-windows-x64.zip: OK\n" });
});
