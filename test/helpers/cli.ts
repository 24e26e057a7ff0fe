/** Runs the CLI in-process with captured output. */
import { runCli } from "../../src/cli/run-cli.ts";

export async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    env,
    signal: new AbortController().signal,
    out: (t) => (out += t),
    err: (t) => (err += t),
    isTerminal: false,
  });
  return { code, out, err };
}
