/**
 * kafkajs schedules timers with negative delays (its request queue computes them from clocks),
 * and Bun warns about each one (TimeoutNegativeWarning) on stderr. The runtime clamps such a delay
 * to 1 ms anyway; clamping it ourselves first keeps the same behaviour without the warning, which
 * must not reach a user's terminal or logs. A patch of the global setTimeout, installed once by
 * main.ts (and the test and bench setups) before kafkajs runs.
 */
export function silenceRuntimeWarnings(): void {
  const original = globalThis.setTimeout;
  if ((original as { ferryClamped?: boolean }).ferryClamped) return;
  const clamped = ((handler: (...a: unknown[]) => void, delay?: number, ...args: unknown[]) =>
    original(handler, typeof delay === "number" && delay < 1 ? 1 : delay, ...args)) as typeof setTimeout;
  Object.assign(clamped, original, { ferryClamped: true });
  globalThis.setTimeout = clamped;
}
