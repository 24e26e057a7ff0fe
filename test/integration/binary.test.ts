/**
 * The compiled binary (dist/ferry, built by scripts/test) copied alone into an empty folder, with
 * an empty cache and no node_modules anywhere above it, runs a query on its embedded DuckDB.
 */
import { beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const built = resolve(import.meta.dir, "../../dist/ferry");
let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  if (!existsSync(built)) throw new Error("dist/ferry is missing: run `npm run build` (scripts/test does)");
  dir = mkdtempSync(join(tmpdir(), "ferry-bin-"));
  copyFileSync(built, join(dir, "ferry"));
  env = { PATH: "/usr/bin:/bin", HOME: join(dir, "home"), XDG_CACHE_HOME: join(dir, "cache") };
});

const run = (...args: string[]) => {
  const p = Bun.spawnSync([join(dir, "ferry"), ...args], { cwd: dir, env });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

test("query select 42 from an empty folder with an empty cache", () => {
  const first = run("query", "select 42 as answer");
  expect(first).toEqual({ code: 0, out: "answer\n──────\n    42\n(1 row)\n", err: "" });
  expect(existsSync(join(dir, "cache", "ferry"))).toBe(true);
  // The second run re-uses the extracted library.
  expect(run("query", "--format", "csv", "select 42 as answer")).toEqual({ code: 0, out: "answer\n42\n", err: "" });
});

test("--version and a bad flag", () => {
  expect(run("--version").out).toMatch(/^ferry \d+\.\d+\.\d+ \(linux-x64, DuckDB v\d+\.\d+\.\d+\)\n$/);
  const bad = run("serve", "--brokers", "k:1", "--port", "abc");
  expect(bad.code).toBe(2);
  expect(bad.err).toBe('ferry: invalid --port "abc": expected an integer from 0 to 65535\n');
});

test("FERRY_MODE selects the mode in the binary", () => {
  const p = Bun.spawnSync([join(dir, "ferry"), "--format", "csv", "select 'ok' as status"], { cwd: dir, env: { ...env, FERRY_MODE: "query" } });
  expect(p.stdout.toString()).toBe("status\nok\n");
});
