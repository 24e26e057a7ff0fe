/** What a mode is: a config schema, a summary, and a run function over the validated config. */
import type * as v from "valibot";
import type { ConfigSchema } from "../config/load.ts";
import type { Logger } from "../log/logger.ts";

export interface ModeContext {
  /** Aborted on SIGINT/SIGTERM: the mode drains and returns. */
  signal: AbortSignal;
  /** Writes a chunk of the mode's output (query results, consumed records). */
  out: (text: string) => void;
  log: Logger;
  /** Progress and summaries meant for a person: a terminal line, not a log record. */
  isTerminal: boolean;
  progress: (text: string) => void;
  /** The validated config as the status page shows it: secrets removed (src/status/config.ts). */
  effectiveConfig?: Record<string, unknown>;
}

export interface Mode<S extends ConfigSchema = ConfigSchema> {
  name: string;
  summary: string;
  /** Longer help text shown under `ferry <mode> --help`. */
  details?: string;
  config: S;
  /** A config key filled from the positional arguments (joined by spaces), e.g. query's SQL. */
  positional?: { key: keyof S["entries"] & string; name: string };
  run(config: v.InferOutput<S>, ctx: ModeContext): Promise<number>;
}

export const defineMode = <S extends ConfigSchema>(mode: Mode<S>): Mode<S> => mode;
