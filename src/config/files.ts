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
