/**
 * The compiled binary loads DuckDB's library only from a private folder, after checking its SHA-256
 * against the one scripts/build.ts recorded: a planted library of the right size is rewritten.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sha256File } from "../../../src/platform/hash.ts";

const ROOT = resolve(import.meta.dir, "../../..");
let work: string;
let binary: string;
let sums: Record<string, string>;
let version: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ferry-embedded-native-"));
  binary = join(work, "ferry");
  const built = Bun.spawnSync([process.execPath, "scripts/build.ts", binary], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`build failed: ${built.stderr.toString()}`);
  sums = JSON.parse(readFileSync(join(ROOT, "node_modules/.cache/ferry-build/linux-x64/embedded-sha256.json"), "utf8"));
  version = JSON.parse(readFileSync(join(ROOT, "node_modules/@duckdb/node-bindings-linux-x64/package.json"), "utf8")).version;
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function query(cache: string) {
  const r = Bun.spawnSync([binary, "query", "--data-dir", join(work, "data"), "select 42 as answer"], { cwd: work, env: { ...process.env, XDG_CACHE_HOME: cache }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("a planted libduckdb.so of the same size with other bytes is rewritten before it is loaded", () => {
  const cache = join(work, "cache-planted");
  const dir = join(cache, "ferry", `duckdb-${version}-${sums["libduckdb.so"]!.slice(0, 16)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const size = statSync(join(ROOT, "node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so")).size;
  writeFileSync(join(dir, "libduckdb.so"), new Uint8Array(size).fill(0x90), { mode: 0o500 });
  const r = query(cache);
  expect({ code: r.code, err: r.code === 0 ? "" : r.err }).toEqual({ code: 0, err: "" });
  expect(r.out).toContain("42");
  expect(sha256File(join(dir, "libduckdb.so"))).toBe(sums["libduckdb.so"]!);
  expect(statSync(join(dir, "libduckdb.so")).mode & 0o777).toBe(0o500);
}, 60_000);

test("a cache folder with mode 0777 is not used", () => {
  const cache = join(work, "cache-open");
  mkdirSync(join(cache, "ferry"), { recursive: true });
  chmodSync(join(cache, "ferry"), 0o777);
  const r = query(cache);
  expect({ code: r.code, err: r.code === 0 ? "" : r.err }).toEqual({ code: 0, err: "" });
  expect(Bun.spawnSync(["find", join(cache, "ferry"), "-mindepth", "1"]).stdout.toString()).toBe("");
}, 60_000);
