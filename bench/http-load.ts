/**
 * HTTP load on loopback with wrk (Debian package), shared by bench/ingest and bench/status-cost:
 * the order record, wrk's scripts (single-order POSTs, NDJSON bodies of 1000), one wrk run parsed,
 * and ferry started from dist/ferry for the length of a measurement (its peak RSS after).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FERRY_BIN as bin, round, sh } from "./lib.ts";

/** Installs wrk from Debian when missing. */
export function ensureWrk(): void {
  if (Bun.spawnSync(["which", "wrk"]).exitCode !== 0) sh(["bash", "-c", "apt-get update -qq && apt-get install -y -qq wrk"]);
}

export const ORDER = (id: string) => `{"order_id":"${id}","product":"Arabica coffee beans 1kg","quantity":3,"price":12.5,"customer_id":"customer-0042"}`;
export const RECORD_BYTES = ORDER("b0-000000000").length;

/** wrk's Lua scripts, written into `work`: one order per POST (ids counting up), or NDJSON bodies of 1000 orders. */
export function loadScripts(work: string): { singleLua: string; ndjsonLua: string } {
  const singleLua = join(work, "single.lua");
  writeFileSync(
    singleLua,
    `counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/orders", {["Content-Type"]="application/json"},
    '{"order_id":"b' .. counter .. '-x","product":"Arabica coffee beans 1kg","quantity":3,"price":12.5,"customer_id":"customer-0042"}')
end
`,
  );
  const ndjsonLua = join(work, "ndjson.lua");
  const ndjsonBody = Array.from({ length: 1000 }, (_, i) => ORDER(`n${String(i).padStart(9, "0")}`)).join("\n");
  writeFileSync(
    ndjsonLua,
    `wrk.method = "POST"
wrk.path = "/orders"
wrk.headers["Content-Type"] = "application/x-ndjson"
wrk.body = ${JSON.stringify(ndjsonBody)}
`,
  );
  return { singleLua, ndjsonLua };
}

export interface WrkResult {
  requestsPerSec: number;
  /** Requests answered 2xx per second (wrk's Requests/sec counts every answer). */
  okPerSec: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: string;
}

function parseLatency(s: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s)!;
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

const wrkArgs = (url: string, script: string, connections: number, seconds: number, threads: number) =>
  ["wrk", "-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--latency", "-s", script, url];

/** One wrk run of `seconds` against `url` (blocking: wrk is its own process). */
export function wrk(url: string, script: string, connections: number, seconds: number, threads = 1): WrkResult {
  return parseWrk(sh(wrkArgs(url, script, connections, seconds, threads)));
}

/** The same, without blocking this process (it has clients of its own to serve meanwhile); adds wrk's own CPU seconds. */
export async function wrkAsync(url: string, script: string, connections: number, seconds: number, threads = 1): Promise<WrkResult & { wrkCpuSeconds: number }> {
  const p = Bun.spawn(wrkArgs(url, script, connections, seconds, threads), { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`wrk failed (${code}): ${err}`);
  const usage = p.resourceUsage();
  const cpu = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : Number.NaN;
  return { ...parseWrk(out), wrkCpuSeconds: cpu };
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const total = Number(/(\d+) requests in/.exec(out)![1]);
  const p50 = parseLatency(/\n\s+50%\s+(\S+)/.exec(out)![1]!);
  const p99 = parseLatency(/\n\s+99%\s+(\S+)/.exec(out)![1]!);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? "";
  return { requestsPerSec: rps, okPerSec: total > 0 ? round((rps * (total - non2xx)) / total, 2) : 0, p50ms: round(p50, 2), p99ms: round(p99, 2), non2xx, errors };
}

/** Starts ferry (dist/ferry, or `command`) with `args`, runs `f` against its URL, stops it; adds its peak RSS. */
export async function withFerry<T>(args: string[], f: (url: string, pid: number) => Promise<T> | T, command = bin): Promise<T & { peak_rss_mb: number }> {
  const proc = Bun.spawn([command, ...args], { stdout: "ignore", stderr: "pipe", env: { ...process.env, FERRY_LOG_LEVEL: "notice" } });
  let err = "";
  const dec = new TextDecoder();
  let url = "";
  for await (const chunk of proc.stderr) {
    err += dec.decode(chunk);
    const m = /"url":"([^"]+)"/.exec(err);
    if (m) {
      url = m[1]!;
      break;
    }
  }
  if (!url) throw new Error(`ferry did not start: ${err}`);
  (async () => {
    for await (const _ of proc.stderr);
  })();
  try {
    const result = await f(url, proc.pid);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))!;
    return { ...result, peak_rss_mb: round(Number(hwm[1]) / 1024) };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}
