/** argv + env → one mode with one validated config → an exit code. No process.exit here. */
import { ConfigError, FerryError, errorMessage } from "../errors.ts";
import { fieldsOf, resolveConfig } from "../config/load.ts";
import { nearest } from "../config/names.ts";
import { createLogger, type LogLevel } from "../log/logger.ts";
import { readConfigFile } from "../platform/config-file.ts";
import { valuesForMode } from "./config-file.ts";
import { globalHelp, modeHelp } from "./help.ts";
import { findMode, MODES } from "./modes.ts";
import { parseArgs } from "./parse-args.ts";
import { VERSION, versionLine } from "../version.ts";
import { effectiveConfig } from "../status/config.ts";


export interface CliIo {
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  out: (text: string) => void;
  err: (text: string) => void;
  isTerminal: boolean;
}

/** The mode named by the first word, by --mode, or by FERRY_MODE (in that order). */
function pickMode(argv: readonly string[], env: CliIo["env"]): { name?: string; rest: string[] } {
  const first = argv[0];
  if (first !== undefined && findMode(first)) return { name: first, rest: argv.slice(1) };
  const i = argv.findIndex((a) => a === "--mode" || a.startsWith("--mode="));
  if (i >= 0) {
    const name = argv[i]!.includes("=") ? argv[i]!.slice("--mode=".length) : argv[i + 1];
    if (!name) throw new ConfigError("flag --mode needs a value");
    return { name, rest: argv.filter((_, j) => j !== i && (argv[i]!.includes("=") || j !== i + 1)) };
  }
  if (env.FERRY_MODE) return { name: env.FERRY_MODE, rest: [...argv] };
  // An unknown first word is a mistyped mode (reported with a suggestion by the caller).
  if (first !== undefined && !first.startsWith("-")) return { name: first, rest: argv.slice(1) };
  return { rest: [...argv] };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    if (argv[0] === "--version" || argv[0] === "-V" || argv[0] === "version") {
      io.out(`${versionLine()}\n`);
      return 0;
    }
    if (argv[0] === "help") argv = argv.length > 1 ? [argv[1]!, "--help"] : ["--help"];
    const { name, rest } = pickMode(argv, io.env);
    if (name === undefined) {
      const asked = rest.includes("--help") || rest.includes("-h");
      (asked ? io.out : io.err)(globalHelp(MODES, VERSION));
      return asked ? 0 : 2;
    }
    const mode = findMode(name);
    if (!mode) {
      const hint = nearest(name, MODES.map((m) => m.name));
      throw new ConfigError(`unknown mode "${name}"${hint ? `; did you mean "${hint}"?` : ""} (modes: ${MODES.map((m) => m.name).join(", ")})`);
    }
    const args = parseArgs(rest, fieldsOf(mode.config), mode.name);
    if (args.help) {
      io.out(modeHelp(mode));
      return 0;
    }
    if (args.positionals.length > 0) {
      if (!mode.positional) throw new ConfigError(`unexpected argument "${args.positionals[0]}" for "ferry ${mode.name}"`);
      args.flags[mode.positional.key] ??= args.positionals.join(" ");
    }
    const configPath = args.configFile ?? io.env.FERRY_CONFIG;
    const file = configPath ? { path: configPath, values: valuesForMode(configPath, readConfigFile(configPath), mode, MODES) } : undefined;
    const config = resolveConfig(mode.config, { flags: args.flags, env: io.env, file }, mode.name) as Record<string, unknown>;
    const log = createLogger((config.logLevel as LogLevel | undefined) ?? "notice", io.err, { mode: mode.name });
    return await mode.run(config, {
      signal: io.signal,
      out: io.out,
      log,
      isTerminal: io.isTerminal,
      progress: (text) => io.isTerminal && io.err(`\r\x1b[2K${text}`),
      effectiveConfig: effectiveConfig(mode.config, config),
    });
  } catch (e) {
    if (e instanceof FerryError) {
      io.err(`ferry: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`ferry: unexpected error: ${errorMessage(e)}\n`);
    if (e instanceof Error && e.stack && io.env.FERRY_DEBUG) io.err(`${e.stack}\n`);
    return 1;
  }
}
