/**
 * Secure defaults at the edge: a warning when ferry listens beyond loopback without a token (as the
 * container image does: FERRY_HOST=0.0.0.0), tokens from a file that never reach logs or help, and
 * data files and folders created owner-only.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { order, postOrders, runFerry, startFerry } from "../../helpers/ferry-process.ts";
import { INLINE_ROWS } from "../../../src/lake/tables.ts";

const base = mkdtempSync(join(tmpdir(), "ferry-edge-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const WARNING = "listening beyond loopback without an auth token";
const logLines = (stderr: string) => stderr.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string });
const local = (url: string) => url.replace("://0.0.0.0:", "://127.0.0.1:");

test("FERRY_HOST=0.0.0.0 (the image's default) without a token: one warning line at start", async () => {
  const ferry = await startFerry(["run", "--data-dir", join(base, "open"), "--port", "0"], { FERRY_HOST: "0.0.0.0" });
  await Bun.sleep(100);
  expect(await ferry.stop()).toBe(0);
  const warnings = logLines(ferry.stderr()).filter((l) => l.level === "warn");
  expect(warnings).toHaveLength(1);
  expect(warnings[0]!.msg).toContain(WARNING);
  expect(warnings[0]).toMatchObject({ host: "0.0.0.0" });
});

test("on loopback (the default), or beyond it with a token, no warning", async () => {
  for (const [name, args, env] of [
    ["loopback", [], {}],
    ["token", ["--host", "0.0.0.0"], { FERRY_AUTH_TOKEN: "env-token-value" }],
  ] as const) {
    const ferry = await startFerry(["run", "--data-dir", join(base, name), "--port", "0", ...args], env);
    await Bun.sleep(100);
    expect(await ferry.stop()).toBe(0);
    expect(ferry.stderr()).not.toContain(WARNING);
    expect(ferry.stderr()).not.toContain("env-token-value");
  }
});

test("--auth-token-file: each line is a token; the tokens appear in neither the start log nor --help", async () => {
  const tokens = join(base, "tokens");
  writeFileSync(tokens, "first-file-token\nsecond-file-token\n");
  const ferry = await startFerry(["run", "--data-dir", join(base, "tokens-data"), "--port", "0", "--host", "0.0.0.0", "--auth-token-file", tokens]);
  try {
    expect((await postOrders(local(ferry.url), order("no-token"))).status).toBe(401);
    expect((await postOrders(local(ferry.url), order("wrong"), { token: "first-file" })).status).toBe(401);
    expect((await postOrders(local(ferry.url), order("t-1"), { token: "first-file-token" })).status).toBe(202);
    expect((await postOrders(local(ferry.url), order("t-2"), { token: "second-file-token" })).status).toBe(202);
  } finally {
    expect(await ferry.stop()).toBe(0);
  }
  expect(ferry.stderr()).not.toContain(WARNING);
  expect(ferry.stderr()).not.toContain("file-token");
  const help = await runFerry(["run", "--help"], 30_000, { FERRY_AUTH_TOKEN: "env-help-token", FERRY_AUTH_TOKEN_FILE: tokens });
  expect(help.out + help.err).toContain("--auth-token-file");
  expect(help.out + help.err).toMatch(/shows in \/proc/);
  expect(help.out + help.err).not.toContain("env-help-token");
  expect(help.out + help.err).not.toContain("file-token");
}, 60_000);

test("a token file with a bad line stops the start with one line naming the line, not the token", async () => {
  const tokens = join(base, "bad-tokens");
  writeFileSync(tokens, "good-token\nbad token with spaces\n");
  const r = await runFerry(["run", "--data-dir", join(base, "never"), "--port", "0", "--auth-token-file", tokens], 30_000);
  expect(r.code).toBe(2);
  expect(r.err).toBe("ferry: --auth-token-file line 2 has characters a bearer token cannot carry (allowed: letters, digits and . _ ~ + / - , then = padding)\n");
});

test("files and folders ferry run creates (data dir, table, WAL, catalog, lake) are not readable by group or others", async () => {
  const dataDir = join(base, "owner-only", "data");
  const ferry = await startFerry(["run", "--data-dir", dataDir, "--port", "0", "--interval", "200ms"]);
  try {
    // Past the catalog's inlining limit: the rollup writes a Parquet file.
    expect((await postOrders(ferry.url, Array.from({ length: INLINE_ROWS + 1 }, (_, i) => order(`m-${i}`)))).status).toBe(202);
    const deadline = Date.now() + 20_000;
    while (!walk(dataDir).some((p) => p.endsWith(".parquet")) && Date.now() < deadline) await Bun.sleep(100);
  } finally {
    expect(await ferry.stop()).toBe(0);
  }
  const paths = walk(dataDir);
  expect(paths.some((p) => p.endsWith(".parquet"))).toBe(true);
  expect(paths.some((p) => p.endsWith("ferry.duckdb"))).toBe(true);
  expect(paths.some((p) => p.endsWith("ferry.wal"))).toBe(true);
  expect(paths.some((p) => p.endsWith("lake.ducklake"))).toBe(true);
  const open = [dataDir, ...paths].map((p) => ({ p, mode: (statSync(p).mode & 0o777).toString(8) })).filter(({ mode }) => !mode.endsWith("00"));
  expect(open).toEqual([]);
}, 60_000);

function walk(dir: string): string[] {
  let out: string[] = [];
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      out.push(p);
      if (e.isDirectory()) out = out.concat(walk(p));
    }
  } catch {}
  return out;
}
