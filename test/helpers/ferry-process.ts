/** Starts ferry as a real child process (from source) and finds the URL it listens on. */
import { resolve } from "node:path";
import { expect } from "bun:test";
import type { Subprocess } from "bun";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
/** The command that runs ferry from source (the default), or the compiled binary. */
export const FROM_SOURCE = [process.execPath, MAIN];
export const BINARY = [resolve(import.meta.dir, "../../dist/ferry")];

/** Runs ferry (from source, or `command`) to its end: exit code, stdout, stderr. Killed after `timeoutMs`. */
export async function runFerry(args: string[], timeoutMs = 60_000, env: Record<string, string> = {}, command = FROM_SOURCE): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([...command, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out, err };
}

/** Asserts a run ended with exit 0, showing its stderr when it did not. */
export function expectSuccess(r: { code: number; err: string }): void {
  expect({ code: r.code, err: r.code === 0 ? "" : r.err }).toEqual({ code: 0, err: "" });
}

export interface FerryProcess {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** stderr so far (JSON log lines). */
  stderr(): string;
  /** stdout so far. */
  stdout(): string;
  /** Sends a signal and waits for the exit code (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number>;
}

/** Starts ferry (from source, or `command`) and waits for its "listening" log line (or its exit: an error naming its stderr), up to `listenTimeoutMs`. */
export async function startFerry(args: string[], env: Record<string, string> = {}, command = FROM_SOURCE, listenTimeoutMs = 30_000): Promise<FerryProcess> {
  const proc = Bun.spawn([...command, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  let err = "";
  let out = "";
  const decoder = new TextDecoder();
  let listening: (url: string) => void = () => {};
  const urlFound = new Promise<string>((r) => (listening = r));
  // One reader drains stderr for the child's whole life, so it never blocks on a full pipe.
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
  const url = await Promise.race([
    urlFound,
    proc.exited.then(async (code) => {
      await drained;
      throw new Error(`ferry exited (${code}) before listening:\n${err}`);
    }),
    Bun.sleep(listenTimeoutMs).then(() => {
      throw new Error(`ferry did not start listening within ${listenTimeoutMs} ms:\n${err}`);
    }),
  ]);
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

export const order = <E extends Record<string, unknown>>(id: string, extra: E = {} as E) => ({ order_id: id, product: `product ${id}`, quantity: 1 + (id.length % 5), price: 9.99, ...extra });

export function postOrders(url: string, body: unknown, init: { contentType?: string; token?: string; raw?: string } = {}) {
  const headers: Record<string, string> = { "content-type": init.contentType ?? "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  return fetch(`${url}/orders`, { method: "POST", headers, body: init.raw ?? JSON.stringify(body) });
}

/** Waits until ferry reports records in flight (accepted for writing, not yet durable). */
export async function waitForInFlight(url: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const n = Number(/^ferry_records_in_flight (\d+)$/m.exec(text)?.[1] ?? 0);
    if (n > 0) return n;
    if (Date.now() > deadline) throw new Error("no records in flight");
    await Bun.sleep(10);
  }
}
