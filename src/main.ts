#!/usr/bin/env bun
/** The ferry binary: argv → runCli. The only place with process.exit and signal wiring. */
import { runCli } from "./cli/run-cli.ts";
import { silenceRuntimeWarnings } from "./kafka/kafkajs/negative-timeouts.ts";
import { installSignalHandlers } from "./platform/process.ts";

// Data files and folders (the data dir, ferry.duckdb, ferry.wal, the lake, staging, checkpoints)
// are created owner-only, whoever creates them (Bun, DuckDB, the OS).
process.umask(0o077);
const controller = new AbortController();
silenceRuntimeWarnings();
installSignalHandlers(controller);
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  signal: controller.signal,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTerminal: Boolean(process.stderr.isTTY),
});
await new Promise<void>((resolve) => (process.stdout.writableNeedDrain ? process.stdout.once("drain", resolve) : resolve()));
process.exit(code);
