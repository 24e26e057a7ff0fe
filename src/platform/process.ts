/** Process-level wiring: signals → one AbortController; runtime warnings kept off the user's terminal. */

export function installSignalHandlers(controller: AbortController): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      // A second signal while draining means "now".
      if (controller.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
      controller.abort(signal);
    });
  }
}

/**
 * kafkajs schedules timers with negative delays and Bun warns about each one
 * (TimeoutNegativeWarning). It is harmless and must not reach a user's terminal or logs.
 */
export function silenceRuntimeWarnings(): void {
  const emitWarning = process.emitWarning.bind(process) as (...a: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const opt = rest[0];
    const name = typeof warning === "string" ? (typeof opt === "string" ? opt : (opt as { type?: string } | undefined)?.type) : warning.name;
    if (name === "TimeoutNegativeWarning") return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}
