/**
 * Where each target's native files come from (scripts/duckdb-extensions.ts, scripts/duckdb-bindings.ts):
 * the wheel of each extension for a platform among PyPI's files, the pins, npm integrity strings.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { duckdbVersion, fetchBindings, integrityOf, packageName, pinnedPackage } from "../../../scripts/duckdb-bindings.ts";
import { signatureMatches } from "../../../scripts/macho.ts";
import { pinOf, readPins, wheelFor } from "../../../scripts/duckdb-extensions.ts";
import bindings from "../../../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };
import { EXTENSIONS } from "../../../src/platform/duckdb-extension-names.ts";
import { TARGET_NAMES } from "../../../src/platform/targets.ts";

// PyPI's files of duckdb-extension-httpfs around 1.5.5 (and decoys).
const FILES = [
  "duckdb_extension_httpfs-1.5.5-py3-none-manylinux2014_aarch64.whl",
  "duckdb_extension_httpfs-1.5.5-py3-none-manylinux2014_x86_64.whl",
  "duckdb_extension_httpfs-1.5.5-py3-none-macosx_11_0_x86_64.whl",
  "duckdb_extension_httpfs-1.5.5-py3-none-macosx_11_0_arm64.whl",
  "duckdb_extension_httpfs-1.5.5-py3-none-win_amd64.whl",
  "duckdb_extension_httpfs-1.5.4-py3-none-win_amd64.whl",
  "duckdb_extension_httpfs-1.5.5.tar.gz",
  "duckdb_extension_httpfs-1.5.5-py3-none-musllinux_1_2_x86_64.whl",
];

test("the wheel of each platform, of exactly this DuckDB version (not musl, not another version)", () => {
  expect(TARGET_NAMES.map((t) => wheelFor(FILES, "httpfs", t, "1.5.5").split("-").at(-1))).toEqual([
    "manylinux2014_x86_64.whl",
    "manylinux2014_aarch64.whl",
    "macosx_11_0_arm64.whl",
    "macosx_11_0_x86_64.whl",
    "win_amd64.whl",
  ]);
  expect(wheelFor(["duckdb_extension_httpfs-1.6.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"], "httpfs", "linux-x64", "1.6.0")).toContain("1.6.0"); // compressed tag set
  expect(() => wheelFor(FILES, "httpfs", "linux-x64", "1.5.6")).toThrow("0 wheels of duckdb-extension-httpfs 1.5.6 for linux-x64");
  expect(() => wheelFor([...FILES, "duckdb_extension_httpfs-1.5.5-py3-none-manylinux_2_28_x86_64.whl"], "httpfs", "linux-x64", "1.5.5")).toThrow("2 wheels");
});

test("every extension is pinned for every target at the installed DuckDB version, by a sha256", () => {
  const pins = readPins();
  for (const t of TARGET_NAMES)
    for (const name of EXTENSIONS) {
      const pin = pinOf(name, t, pins);
      expect(pin.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(pin.wheel).toStartWith(`duckdb_extension_${name}-${duckdbVersion(bindings.version)}-`);
    }
  expect(() => pinOf("httpfs", "linux-x64", {})).toThrow("run: bun scripts/duckdb-extensions.ts --pin");
});

test("each target's bindings package is pinned by package-lock.json at the version @duckdb/node-bindings asks for", () => {
  for (const t of TARGET_NAMES) {
    const { version, integrity } = pinnedPackage(t);
    expect(version).toBe(bindings.version);
    expect(integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  }
  expect(packageName("windows-x64")).toBe("@duckdb/node-bindings-win32-x64");
  expect(duckdbVersion("1.5.5-r.5")).toBe("1.5.5");
  expect(duckdbVersion("1.6.0")).toBe("1.6.0");
});

test("integrityOf: npm's sha512-<base64> of the bytes", () => {
  const data = new TextEncoder().encode("abc");
  // sha512("abc"), the FIPS 180-2 example, in base64
  expect(integrityOf(data, "sha512-x")).toBe("sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==");
  expect(() => integrityOf(data, "md5-x")).toThrow("unsupported integrity algorithm md5");
});

test("the macOS library cut from DuckDB's universal file is its CPU's and keeps a signature that matches it (fetched from npm when not cached)", async () => {
  for (const [target, cpu] of [["darwin-arm64", 0x0100000c], ["darwin-x64", 0x01000007]] as const) {
    const { library } = await fetchBindings(target);
    const file = new Uint8Array(readFileSync(library));
    expect(new DataView(file.buffer).getUint32(0, true)).toBe(0xfeedfacf); // thin 64-bit
    expect(new DataView(file.buffer).getInt32(4, true)).toBe(cpu);
    expect(signatureMatches(file)).toBe(true);
  }
}, 300_000);
