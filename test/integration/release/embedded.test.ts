/**
 * Every release binary carries its own platform's native code: the packs ferry's build embedded
 * (their listing in the bundled code: names, sizes, SHA-256) are found in the file as zstd frames,
 * inflated, cut into files and each checked against its SHA-256; then DuckDB's library, the addon
 * and each extension must be objects of the target's format and CPU (ELF, Mach-O or PE), and each
 * extension's footer must name the target's DuckDB platform and the embedded DuckDB's version
 * (what DuckDB checks before it LOADs one). Nothing here runs the binary: it holds for the
 * platforms that cannot run here too.
 */
import { expect, test } from "bun:test";
import bindings from "../../../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };
import { EXTENSIONS, extensionFileName } from "../../../src/platform/duckdb-extension-names.ts";
import { ADDON } from "../../../src/platform/targets.ts";
import { duckdbExtensionFooter, embeddedNatives, nativeKind } from "../../helpers/executables.ts";
import { readReleaseBinary, releaseArchives, TARGET_SPECS, TARGETS, type Target } from "../../helpers/release.ts";

const DUCKDB_VERSION = bindings.version.replace(/-r\.\d+$/, "");
/** DuckDB's own names of the platforms (an extension's footer carries one). */
const DUCKDB_PLATFORM: Record<Target, string> = {
  "linux-x64": "linux_amd64",
  "linux-arm64": "linux_arm64",
  "darwin-arm64": "osx_arm64",
  "darwin-x64": "osx_amd64",
  "windows-x64": "windows_amd64",
};
const FORMAT = { linux: "elf", darwin: "mach-o", windows: "pe" } as const;

for (const target of TARGETS) {
  test(`${target}: DuckDB's library, the addon and every extension, of its format and CPU, each matching its SHA-256`, async () => {
    await releaseArchives([target]);
    const natives = embeddedNatives(readReleaseBinary(target));
    const spec = TARGET_SPECS[target];
    expect(natives.map((n) => n.name).sort()).toEqual([spec.library, ADDON, ...EXTENSIONS.map(extensionFileName)].sort());
    for (const n of natives) expect({ name: n.name, ...nativeKind(n.data) }).toEqual({ name: n.name, format: FORMAT[spec.os], arch: spec.arch });
    for (const n of natives.filter((n) => n.name.endsWith(".duckdb_extension"))) {
      const { platform, duckdbVersion } = duckdbExtensionFooter(n.data);
      expect({ name: n.name, platform, duckdbVersion }).toEqual({ name: n.name, platform: DUCKDB_PLATFORM[target], duckdbVersion: `v${DUCKDB_VERSION}` });
    }
  }, 20 * 60_000);
}
