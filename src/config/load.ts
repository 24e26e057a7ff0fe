/**
 * Resolves one typed config object from flags > FERRY_* env > config file > defaults,
 * validated once with the mode's valibot schema. Every failure is a ConfigError whose message
 * names the flag (or env variable, or file key) and why.
 */
import * as v from "valibot";
import { ConfigError } from "../errors.ts";
import { type FieldInfo, fieldInfo } from "./fields.ts";
import { envName, flagName } from "./names.ts";

export type ConfigSchema = v.ObjectSchema<v.ObjectEntries, undefined>;
export type RawValue = string | boolean | string[] | number | unknown;

export interface ConfigSources {
  /** Values from flags, by config key (strings, `true` for bare booleans, arrays for repeats). */
  flags: Record<string, RawValue>;
  env: Record<string, string | undefined>;
  /** Values from the config file, by config key, and the file's name for messages. */
  file?: { path: string; values: Record<string, unknown> };
}

type Source = "flag" | "env" | "file";

export interface FieldSpec {
  key: string;
  info: FieldInfo;
  required: boolean;
  defaultValue: unknown;
}

/** The fields of a config schema, in declaration order. */
export function fieldsOf(schema: ConfigSchema): FieldSpec[] {
  return Object.entries(schema.entries).map(([key, entry]) => {
    const info = fieldInfo(entry as v.GenericSchema);
    if (!info) throw new Error(`config field ${key} was not declared with a field builder`);
    const optional = (entry as { type: string }).type === "optional";
    return { key, info, required: !optional, defaultValue: optional ? v.getDefault(entry as never) : undefined };
  });
}

export function describeSource(key: string, source: Source, file?: string): string {
  if (source === "flag") return `--${flagName(key)}`;
  if (source === "env") return envName(key);
  return `"${flagName(key)}" in ${file ?? "the config file"}`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as a person writes it (and `coerce` reads it back): 500ms, 10s, 2m, 1h. */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"] as const) {
    const size = DURATION_UNITS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Turns a raw string (or list of strings) into the field's kind; leaves what it can't for validation to report. */
export function coerce(kind: FieldInfo["kind"], raw: unknown): unknown {
  if (kind === "list") {
    const items = Array.isArray(raw) ? raw : [raw];
    return items.flatMap((x) => (typeof x === "string" ? x.split(",").map((s) => s.trim()) : [x])).filter((x) => x !== "");
  }
  if (Array.isArray(raw)) raw = raw[raw.length - 1]; // a repeated scalar flag: the last one wins
  if (typeof raw !== "string") return raw;
  const s = raw.trim();
  switch (kind) {
    case "int":
      return /^[+-]?\d+$/.test(s) ? Number(s) : raw;
    case "number":
      return s !== "" && Number.isFinite(Number(s)) ? Number(s) : raw;
    case "bool": {
      const l = s.toLowerCase();
      if (["true", "1", "yes", "on"].includes(l)) return true;
      if (["false", "0", "no", "off"].includes(l)) return false;
      return raw;
    }
    case "duration": {
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(s);
      return m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? "ms"]!) : raw;
    }
    default:
      return raw;
  }
}

function show(raw: unknown): string {
  return JSON.stringify(Array.isArray(raw) ? raw.join(",") : raw);
}

export function resolveConfig<S extends ConfigSchema>(schema: S, sources: ConfigSources, modeName: string): v.InferOutput<S> {
  const input: Record<string, unknown> = {};
  const origin: Record<string, { source: Source; raw: unknown }> = {};
  for (const { key, info } of fieldsOf(schema)) {
    let source: Source | undefined;
    let raw: unknown;
    if (sources.flags[key] !== undefined) [source, raw] = ["flag", sources.flags[key]];
    else if (sources.env[envName(key)] !== undefined) [source, raw] = ["env", sources.env[envName(key)]];
    else if (info.alsoEnv && sources.env[info.alsoEnv] !== undefined) [source, raw] = ["env", sources.env[info.alsoEnv]];
    else if (sources.file?.values[key] !== undefined) [source, raw] = ["file", sources.file.values[key]];
    if (source === undefined) continue;
    origin[key] = { source, raw };
    input[key] = coerce(info.kind, raw);
  }
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const key = String(issue.path?.[0]?.key ?? "");
  const from = origin[key];
  if (!from) {
    throw new ConfigError(`--${flagName(key)} is required for "ferry ${modeName}" (or set ${envName(key)})`);
  }
  const where = describeSource(key, from.source, sources.file?.path);
  throw new ConfigError(`invalid ${where} ${show(from.raw)}: ${issue.message}`);
}
