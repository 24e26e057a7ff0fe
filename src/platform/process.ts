/** Process-level wiring: signals → one AbortController; runtime warnings kept off the user's terminal. */

export function installProcessGuards(controller: AbortController): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      // A second signal while draining means "now".
      if (controller.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
      controller.abort(signal);
    });
  }
  // kafkajs schedules timers with negative delays; Bun warns about each (TimeoutNegativeWarning).
  // It is harmless and must not reach a user's terminal or logs.
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const name = typeof warning === "string" ? (typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string })?.type) : warning.name;
    if (name === "TimeoutNegativeWarning") return;
    return (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}
