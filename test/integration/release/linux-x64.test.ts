/**
 * The linux-x64 release binary, unpacked from its archive into an empty folder with an empty
 * cache, runs natively: --version names its target and DuckDB, and a query answers.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import bindings from "../../../node_modules/@duckdb/node-bindings/package.json" with { type: "json" };
import { expectSuccess, runFerry } from "../../helpers/ferry-process.ts";
import { extractRelease, releaseArchives, VERSION } from "../../helpers/release.ts";

const TARGET = "linux-x64";
const DUCKDB_VERSION = bindings.version.replace(/-r\.\d+$/, "");
let release: ReturnType<typeof extractRelease>;
let env: Record<string, string>;

beforeAll(async () => {
  await releaseArchives([TARGET]);
  release = extractRelease(TARGET);
  env = { HOME: join(release.dir, "home"), XDG_CACHE_HOME: join(release.dir, "cache") };
}, 20 * 60_000);
afterAll(() => release?.cleanup());

test("--version names the version, the target and DuckDB; a query answers from an empty cache", async () => {
  const version = await runFerry(["--version"], 60_000, env, [release.binary]);
  expectSuccess(version);
  expect(version.out).toStartWith(`ferry ${VERSION}`);
  expect(version.out).toContain(TARGET);
  expect(version.out).toContain(DUCKDB_VERSION);
  const query = await runFerry(["query", "--format", "csv", "select 42 as answer, version() as duckdb"], 60_000, env, [release.binary]);
  expectSuccess(query);
  expect(query.out).toBe(`answer,duckdb\n42,v${DUCKDB_VERSION}\n`);
});
