/** The compiled binary (dist/ferry, built by scripts/build.ts) as a child process, for the hostile-input tests. */
import { existsSync } from "node:fs";
import { BINARY, type FerryProcess, runFerry, startFerry } from "../ferry-process.ts";
import { READ_COLUMNS, type StoredRow, toStored } from "./store-paths.ts";

export const FERRY_BIN = BINARY[0]!;

export function requireBinary(): void {
  if (!existsSync(FERRY_BIN)) throw new Error("dist/ferry is missing: run `node_modules/.bin/bun scripts/build.ts` (scripts/test does)");
}

export type BinaryProcess = FerryProcess;

/** Starts dist/ferry and waits for it to listen (test/helpers/ferry-process.ts). */
export const startBinary = (args: string[], opts: { env?: Record<string, string> } = {}): Promise<BinaryProcess> => startFerry(args, opts.env, BINARY);

/** Runs dist/ferry to its end. */
export const runBinary = (args: string[], timeoutMs = 60_000, env: Record<string, string> = {}) => runFerry(args, timeoutMs, env, BINARY);

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
