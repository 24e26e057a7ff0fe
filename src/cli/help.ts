/** Help texts, generated from the mode list and each mode's config fields. */
import type { FieldInfo } from "../config/fields.ts";
import { fieldsOf, formatDuration } from "../config/load.ts";
import { envName, flagName } from "../config/names.ts";
import type { Mode } from "../modes/mode.ts";

export function globalHelp(modes: readonly Mode[], version: string): string {
  const width = Math.max(...modes.map((m) => m.name.length));
  return [
    `ferry ${version}: moves order records between HTTP, Kafka, Cassandra, Parquet and a SQL table.`,
    "",
    "Usage: ferry <mode> [flags]      (or --mode <mode>, or FERRY_MODE=<mode>)",
    "",
    "Modes:",
    ...modes.map((m) => `  ${m.name.padEnd(width)}  ${m.summary}`),
    "",
    "Every mode answers --help. Config precedence: flags > FERRY_* env > --config FILE (JSON or TOML) > defaults.",
    "Other flags: --version, --help.",
    "",
  ].join("\n");
}

function showDefault(value: unknown, info: FieldInfo): string {
  if (value === undefined) return "";
  if (info.secret) return Array.isArray(value) && value.length === 0 ? "" : " (default: hidden)";
  if (Array.isArray(value)) return value.length ? ` (default: ${value.join(",")})` : "";
  if (info.kind === "duration" && typeof value === "number") return ` (default: ${formatDuration(value)})`;
  return ` (default: ${String(value)})`;
}

export function modeHelp(mode: Mode): string {
  const fields = fieldsOf(mode.config).filter((f) => f.key !== mode.positional?.key);
  const rows = fields.map((f) => {
    const left = `--${flagName(f.key)}${f.info.kind === "bool" ? "" : ` ${f.info.placeholder ?? "VALUE"}`}`;
    const req = f.required ? " (required)" : "";
    return { left, right: `${f.info.doc}${req}${showDefault(f.defaultValue, f.info)} [env ${envName(f.key)}${f.info.alsoEnv ? ` or ${f.info.alsoEnv}` : ""}]` };
  });
  rows.push({ left: "--config FILE", right: "Read settings from a JSON or TOML file [env FERRY_CONFIG]" });
  rows.push({ left: "-h, --help", right: "Show this help" });
  const width = Math.max(...rows.map((r) => r.left.length));
  const pos = mode.positional;
  return [
    `ferry ${mode.name}: ${mode.summary}`,
    "",
    `Usage: ferry ${mode.name}${pos ? ` [flags] <${pos.name}>` : " [flags]"}`,
    ...(mode.details ? ["", mode.details] : []),
    "",
    "Flags:",
    ...rows.map((r) => `  ${r.left.padEnd(width)}  ${r.right}`),
    ...(fields.some((f) => f.info.kind === "bool") ? ["", "A boolean flag is negated with --no-<flag>."] : []),
    "",
  ].join("\n");
}
