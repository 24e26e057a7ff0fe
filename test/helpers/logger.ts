/** A logger for tests that keeps the lines, so a test can assert on them or print them on failure. */
import { createLogger, type LogLevel } from "../../src/log/logger.ts";

export function memoryLogger(level: LogLevel = "warn") {
  const lines: string[] = [];
  return { log: createLogger(level, (l) => lines.push(l)), lines };
}
