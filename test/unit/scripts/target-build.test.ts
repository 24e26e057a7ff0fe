/**
 * The build's side of the embedded files (scripts/target-build.ts) meets the binary's side
 * (src/platform/private-cache.ts): packs made here, described by the generated asset module, are
 * written out by verifiedPack byte for byte. Also the zstd settings and the pack layout.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants } from "node:zlib";
import { assetModule, packed, packLayout, zstdParams, type NativeFile, type NativeFiles } from "../../../scripts/target-build.ts";
import { EXTENSIONS, extensionFileName } from "../../../src/platform/duckdb-extension-names.ts";
import type { EmbeddedAssets } from "../../../src/platform/embedded-assets.ts";
import { sha256File } from "../../../src/platform/hash.ts";
import { verifiedPack } from "../../../src/platform/private-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "ferry-target-build-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fake(name: string, size: number, seed: number): NativeFile {
  const source = join(dir, "src", name);
  mkdirSync(join(dir, "src"), { recursive: true });
  // Shared runs between files, as the extensions share code.
  writeFileSync(source, Uint8Array.from({ length: size }, (_, i) => ((i % 5000 < 2500 ? i : i * seed) >> 2) & 0xff));
  return { name, source, sha256: sha256File(source) };
}

const files: NativeFiles = {
  target: "linux-arm64",
  duckdb: "1.5.5",
  bindings: "1.5.5-r.5",
  library: fake("libduckdb.so", 400_000, 3),
  addon: fake("duckdb.node", 50_000, 5),
  extensions: Object.fromEntries(EXTENSIONS.map((name, i) => [name, fake(extensionFileName(name), 100_000 + i, 7 + i)])) as NativeFiles["extensions"],
};

test("the library and addon in one pack (needed at every start), the extensions in another", () => {
  expect(packLayout(files).map((group) => group.map((f) => f.name))).toEqual([["libduckdb.so", "duckdb.node"], EXTENSIONS.map(extensionFileName)]);
});

test("zstd: the given level, a window over the whole pack up to 128 MiB, long-distance matching, a checksum", () => {
  const p = zstdParams(19, 200_000_000);
  expect(p[constants.ZSTD_c_compressionLevel]).toBe(19);
  expect(p[constants.ZSTD_c_windowLog]).toBe(27);
  expect(zstdParams(19, 70_000_000)[constants.ZSTD_c_windowLog]).toBe(27);
  expect(zstdParams(19, 60_000_000)[constants.ZSTD_c_windowLog]).toBe(26);
  expect(zstdParams(19, 10)[constants.ZSTD_c_windowLog]).toBe(20);
  expect(p[constants.ZSTD_c_enableLongDistanceMatching]).toBe(1);
  expect(p[constants.ZSTD_c_checksumFlag]).toBe(1);
});

test("packs described by the generated module are written out by the binary's code exactly", async () => {
  const cache = join(dir, "packs");
  for (const level of [0, 3]) {
    const packs = await Promise.all(packLayout(files).map(async (group) => ({ path: await packed(group, level, cache), files: group })));
    expect(await packed(packs[0]!.files, level, cache)).toBe(packs[0]!.path); // cached by content
    const module = join(dir, `assets-${level}.ts`);
    writeFileSync(module, assetModule(files, packs, level > 0));
    const { embedded } = (await import(module)) as { embedded: EmbeddedAssets };
    expect({ target: embedded.target, duckdb: embedded.duckdb, bindings: embedded.bindings, library: embedded.library, addon: embedded.addon }).toEqual({
      target: "linux-arm64",
      duckdb: "1.5.5",
      bindings: "1.5.5-r.5",
      library: "libduckdb.so",
      addon: "duckdb.node",
    });
    expect(embedded.extensions.postgres).toBe("postgres_scanner.duckdb_extension");
    const out = join(dir, `out-${level}`);
    mkdirSync(out, { mode: 0o700 });
    for (const pack of embedded.packs) {
      expect(pack.zstd).toBe(level > 0);
      const written = await verifiedPack(pack, new Map(pack.files.map((f) => [f.name, out])));
      for (const f of pack.files) expect(readFileSync(written.get(f.name)!.path)).toEqual(readFileSync(join(dir, "src", f.name)));
    }
  }
});
