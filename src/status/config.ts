/**
 * The effective configuration as the status shows it: every option's value after flags, FERRY_*
 * variables, the config file and defaults, with secrets removed — a field marked secret shows
 * "(secret)" when set, and a password inside a value (a URL's `user:password@`, `password=…`) is
 * masked.
 */
import type * as v from "valibot";
import type { ConfigSchema } from "../config/load.ts";
import { redactSecrets, redactUrlPassword } from "../log/redact.ts";
import { fieldInfo } from "../config/fields.ts";

export const SECRET = "(secret)";

const isSet = (value: unknown) => value !== undefined && value !== "" && !(Array.isArray(value) && value.length === 0);

function mask(value: unknown): unknown {
  if (typeof value === "string") return redactUrlPassword(redactSecrets(value));
  if (Array.isArray(value)) return value.map(mask);
  return value;
}

export function effectiveConfig(schema: ConfigSchema, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined) continue;
    const entry = schema.entries[name] as v.GenericSchema | undefined;
    const secret = entry !== undefined && fieldInfo(entry)?.secret === true;
    out[name] = secret ? (isSet(value) ? SECRET : value) : mask(value);
  }
  return out;
}
