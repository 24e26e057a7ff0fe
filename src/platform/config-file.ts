/** Reads a config file (JSON or TOML, by extension) into a plain object. */
import { readFileSync } from "node:fs";
import { ConfigError, errorMessage } from "../errors.ts";

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${errorMessage(e)}`);
  }
  try {
    const parsed: unknown = /\.toml$/i.test(path) ? Bun.TOML.parse(text) : JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("the top level must be an object/table");
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid ${/\.toml$/i.test(path) ? "TOML" : "JSON"}: ${errorMessage(e)}`);
  }
}
