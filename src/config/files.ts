/** Files named by settings (certificates, keys, password files), read once at the edge. */
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";

/** The file's text; a missing or unreadable one is a ConfigError naming the flag. */
export function readConfigFile(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`invalid --${flag} ${JSON.stringify(path)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/**
 * A secret given once: as a value (a flag or its FERRY_* variable) or as the file that holds it
 * (one line; a trailing newline is ignored). A flag shows in /proc to every local user; a file or a
 * variable does not.
 */
export function secretOf(value: string | undefined, file: string | undefined, flag: string): string | undefined {
  if (file === undefined) return value;
  if (value !== undefined) throw new ConfigError(`give the ${flag.replaceAll("-", " ")} once: --${flag} (FERRY_${flag.toUpperCase().replaceAll("-", "_")}) or --${flag}-file, not both`);
  return readConfigFile(file, `${flag}-file`).replace(/\r?\n$/, "");
}
