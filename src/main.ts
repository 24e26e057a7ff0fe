#!/usr/bin/env bun
/** The ferry binary: argv → runCli. The only place with process.exit and signal wiring. */
import { runCli } from "./cli/run-cli.ts";
import { installSignalHandlers, silenceRuntimeWarnings } from "./platform/process.ts";

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
