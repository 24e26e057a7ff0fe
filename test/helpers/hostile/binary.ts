/** The compiled binary (dist/ferry, built by scripts/build.ts) as a child process, for the hostile-input tests. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { READ_COLUMNS, type StoredRow, toStored } from "./store-paths.ts";

export const FERRY_BIN = resolve(import.meta.dir, "../../../dist/ferry");

export function requireBinary(): void {
  if (!existsSync(FERRY_BIN)) throw new Error("dist/ferry is missing: run `node_modules/.bin/bun scripts/build.ts` (scripts/test does)");
}

export interface BinaryProcess {
  url?: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stderr(): string;
  stdout(): string;
  /** Sends a signal and waits for the exit code (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number>;
}

/** Starts dist/ferry; with `listens`, waits for its "listening" log line (or its exit: an error naming its stderr). */
export async function startBinary(args: string[], opts: { listens?: boolean; env?: Record<string, string> } = {}): Promise<BinaryProcess> {
  const proc = Bun.spawn([FERRY_BIN, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env } });
  let err = "";
  let out = "";
  let listening: (url: string) => void = () => {};
  const urlFound = new Promise<string>((r) => (listening = r));
  const decoder = new TextDecoder();
  const drained = (async () => {
    for await (const chunk of proc.stderr) {
      err += decoder.decode(chunk);
      const m = /"msg":"listening".*?"url":"([^"]+)"/.exec(err);
      if (m) listening(m[1]!);
    }
  })().catch(() => {});
  void (async () => {
    for await (const chunk of proc.stdout) out += decoder.decode(chunk);
  })().catch(() => {});
  let url: string | undefined;
  if (opts.listens !== false) {
    url = await Promise.race([
      urlFound,
      proc.exited.then(async (code) => {
        await drained;
        throw new Error(`ferry ${args[0]} exited (${code}) before listening:\n${err}`);
      }),
      Bun.sleep(30_000).then(() => {
        throw new Error(`ferry ${args[0]} did not start listening:\n${err}`);
      }),
    ]);
  }
  return {
    url,
    proc,
    stderr: () => err,
    stdout: () => out,
    stop: async (signal = "SIGTERM", graceMs = 30_000) => {
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await proc.exited;
      clearTimeout(timer);
      await drained;
      return code;
    },
  };
}

/** Runs dist/ferry to its end. */
export async function runBinary(args: string[], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([FERRY_BIN, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out, err };
}

/** `ferry query --format json` of a data dir: the rows, or an error with its stderr. */
export async function queryJson(dataDir: string, sql: string): Promise<Record<string, unknown>[]> {
  const r = await runBinary(["query", "--data-dir", dataDir, "--format", "json", sql]);
  if (r.code !== 0) throw new Error(`ferry query failed (${r.code}): ${r.err}\n${sql}`);
  return r.out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const ROW_KEYS = ["order_id", "product", "customer_id", "h_id", "h_product", "h_customer", "q", "p", "us", "t", "kafka_offset", "date"];

/** The rows of a table or view (`orders`, `lake`, …) in the shape the invariant reads. */
export async function storedRows(dataDir: string, from: "orders" | "lake", where = "true"): Promise<StoredRow[]> {
  const lake = from === "lake";
  const rows = await queryJson(dataDir, `SELECT ${READ_COLUMNS}${lake ? ", date::VARCHAR AS date" : ""} FROM ${from} WHERE ${where}`);
  return rows.map((o) => toStored(ROW_KEYS.slice(0, lake ? 12 : 11).map((k) => o[k] ?? null), lake));
}
