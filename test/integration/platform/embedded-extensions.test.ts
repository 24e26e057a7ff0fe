/**
 * The DuckDB extensions embedded in the compiled binary (httpfs, ducklake, postgres, sqlite) are
 * written out only when first loaded, to the private cache folder, checked against the SHA-256
 * scripts/build.ts recorded, and load with DuckDB's signature checks on. ferry has no mode using
 * ducklake yet, so a small program (test/helpers/load-extensions-main.ts) is compiled by the same
 * build script and loads them through the same modules.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sha256File } from "../../../src/platform/hash.ts";
import { EXTENSIONS, extensionFileName } from "../../../src/platform/duckdb-extension-names.ts";

const ROOT = resolve(import.meta.dir, "../../..");
let work: string;
let binary: string;
let sums: Record<string, string>;
let version: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ferry-embedded-extensions-"));
  binary = join(work, "load-extensions");
  const built = Bun.spawnSync([process.execPath, "scripts/build.ts", binary, "test/helpers/load-extensions-main.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`build failed: ${built.stderr.toString()}`);
  sums = JSON.parse(readFileSync(join(ROOT, "node_modules/.cache/ferry-build/linux-x64/embedded-sha256.json"), "utf8"));
  version = JSON.parse(readFileSync(join(ROOT, "node_modules/@duckdb/node-bindings-linux-x64/package.json"), "utf8")).version;
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const folderOf = (cache: string, file: string) => join(cache, "ferry", `duckdb-${version}-${sums[file]!.slice(0, 16)}`);

function run(cache: string, ...names: string[]) {
  const dir = mkdtempSync(join(work, "run-"));
  const r = Bun.spawnSync([binary, dir, ...names], { cwd: work, env: { ...process.env, XDG_CACHE_HOME: cache }, stdout: "pipe", stderr: "pipe" });
  const err = r.stderr.toString();
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${err}`);
  return JSON.parse(r.stdout.toString()) as Record<string, { path: string; rows?: unknown[] }> & { loaded: string[] };
}

test("the build records a SHA-256 for every embedded extension", () => {
  for (const name of EXTENSIONS) expect(sums[extensionFileName(name)]).toMatch(/^[0-9a-f]{64}$/);
});

test("no extension is written out until one is loaded", () => {
  const cache = join(work, "cache-none");
  const out = run(cache);
  expect(out.loaded).not.toContain("ducklake");
  expect(readdirSync(join(cache, "ferry"))).toEqual([`duckdb-${version}-${sums["libduckdb.so"]!.slice(0, 16)}`]);
}, 60_000);

test("each extension is written to the private folder, checked, loaded and used", () => {
  const cache = join(work, "cache-all");
  const out = run(cache, "sqlite", "ducklake", "postgres", "httpfs");
  for (const name of EXTENSIONS) {
    const file = extensionFileName(name);
    expect(out[name]!.path).toBe(join(folderOf(cache, file), file));
    expect(sha256File(out[name]!.path)).toBe(sums[file]!);
    expect(statSync(out[name]!.path).mode & 0o777).toBe(0o500);
    expect(statSync(folderOf(cache, file)).mode & 0o777).toBe(0o700);
  }
  expect(out.ducklake!.rows).toEqual([10, "v9"]); // a DuckLake table with a SQLite catalog
  for (const name of ["httpfs", "ducklake", "postgres_scanner", "sqlite_scanner"]) expect(out.loaded).toContain(name);
}, 60_000);

test("a planted ducklake extension of the same size with other bytes is rewritten before it is loaded", () => {
  const cache = join(work, "cache-planted");
  const file = extensionFileName("ducklake");
  const dir = folderOf(cache, file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const size = statSync(join(ROOT, "node_modules/.cache/ferry-duckdb-extensions/linux-x64", file)).size;
  writeFileSync(join(dir, file), new Uint8Array(size).fill(0x90), { mode: 0o500 });
  const out = run(cache, "ducklake");
  expect(out.ducklake!.rows).toEqual([10, "v9"]);
  expect(sha256File(join(dir, file))).toBe(sums[file]!);
}, 60_000);
