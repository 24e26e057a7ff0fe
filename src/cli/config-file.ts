/**
 * Picks a mode's values out of a config file: top-level keys apply to every mode, a table named
 * after the mode (e.g. `[serve]`) overrides them, so one file can configure every role.
 */
import { ConfigError } from "../errors.ts";
import { fieldsOf } from "../config/load.ts";
import { flagName, keyFromAnySpelling, nearest } from "../config/names.ts";
import type { Mode } from "../modes/mode.ts";

export function valuesForMode(path: string, file: Record<string, unknown>, mode: Mode, modes: readonly Mode[]): Record<string, unknown> {
  const modeNames = new Set(modes.map((m) => m.name));
  const allKeys = new Set(modes.flatMap((m) => fieldsOf(m.config).map((f) => f.key)));
  const ownKeys = new Set(fieldsOf(mode.config).map((f) => f.key));
  const check = (name: string, section?: string) => {
    const key = keyFromAnySpelling(name);
    const known = section ? modes.find((m) => m.name === section)!.config.entries : undefined;
    if (known ? key in known : allKeys.has(key)) return key;
    const pool = known ? Object.keys(known) : [...allKeys];
    const hint = nearest(flagName(key), pool.map(flagName));
    throw new ConfigError(`unknown key "${name}"${section ? ` in [${section}]` : ""} in ${path}${hint ? `; did you mean "${hint}"?` : ""}`);
  };
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(file)) {
    if (modeNames.has(name)) continue;
    const key = check(name);
    if (ownKeys.has(key)) values[key] = value;
  }
  for (const [section, table] of Object.entries(file)) {
    if (!modeNames.has(section)) continue;
    if (!table || typeof table !== "object" || Array.isArray(table)) throw new ConfigError(`[${section}] in ${path} must be a table/object`);
    for (const [name, value] of Object.entries(table)) {
      const key = check(name, section);
      if (section === mode.name) values[key] = value;
    }
  }
  return values;
}
