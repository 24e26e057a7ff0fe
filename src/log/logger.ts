/** Structured logs: one JSON object per line on stderr, quiet (notice) by default. */

/** notice: start-up, shutdown and state changes a person wants to see; the default. */
export const LOG_LEVELS = ["error", "warn", "notice", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  notice(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(level: LogLevel, write: (line: string) => void, base: Record<string, unknown> = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const enabled = (l: LogLevel) => LOG_LEVELS.indexOf(l) <= threshold;
  const emit = (l: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (!enabled(l)) return;
    write(`${JSON.stringify({ ts: new Date().toISOString(), level: l, msg, ...base, ...fields }, jsonSafe)}\n`);
  };
  return {
    error: (m, f) => emit("error", m, f),
    warn: (m, f) => emit("warn", m, f),
    notice: (m, f) => emit("notice", m, f),
    info: (m, f) => emit("info", m, f),
    debug: (m, f) => emit("debug", m, f),
    enabled,
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
