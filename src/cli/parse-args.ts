/** Parses a mode's argv against its config fields: `--flag value`, `--flag=value`, `--no-flag`. */
import { ConfigError } from "../errors.ts";
import type { FieldSpec } from "../config/load.ts";
import { flagName, nearest } from "../config/names.ts";

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[]>;
  positionals: string[];
  help: boolean;
  configFile?: string;
}

/** Flags every mode takes besides its own config. */
export const GLOBAL_FLAGS = ["help", "config", "mode"] as const;

export function parseArgs(argv: readonly string[], fields: readonly FieldSpec[], modeName: string): ParsedArgs {
  const byFlag = new Map(fields.map((f) => [flagName(f.key), f]));
  const out: ParsedArgs = { flags: {}, positionals: [], help: false };
  const known = [...byFlag.keys(), ...GLOBAL_FLAGS];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      out.help = true;
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) {
        throw new ConfigError(`unknown flag ${arg} for "ferry ${modeName}" (flags are spelled --name; see ferry ${modeName} --help)`);
      }
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new ConfigError(`flag --${name} needs a value`);
      i++;
      return next;
    };
    if (name === "config" || name === "mode") {
      const value = takeValue();
      if (name === "config") out.configFile = value;
      continue;
    }
    let field = byFlag.get(name);
    if (!field && name.startsWith("no-") && byFlag.get(name.slice(3))?.info.kind === "bool") {
      if (inline !== undefined) throw new ConfigError(`flag --${name} takes no value`);
      field = byFlag.get(name.slice(3))!;
      name = name.slice(3);
      inline = "false";
    }
    if (!field) {
      const hint = nearest(name, known);
      throw new ConfigError(`unknown flag --${name} for "ferry ${modeName}"${hint ? `; did you mean --${hint}?` : ` (see ferry ${modeName} --help)`}`);
    }
    if (field.info.kind === "bool") {
      out.flags[field.key] = inline ?? true;
    } else if (field.info.kind === "list") {
      const prev = out.flags[field.key];
      out.flags[field.key] = [...(Array.isArray(prev) ? prev : []), takeValue()];
    } else {
      out.flags[field.key] = takeValue();
    }
  }
  return out;
}
