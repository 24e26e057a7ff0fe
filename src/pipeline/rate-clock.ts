/** Elapsed time and rate of a long run (generate, export): for its progress line and its summary. */
export function startRateClock() {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const perSecond = (count: number, seconds = elapsed()) => Math.round(count / Math.max(seconds, 0.001));
  return {
    elapsed,
    perSecond,
    /** Seconds (to 0.1) and the rate so far, for a summary log line. */
    figures(count: number) {
      const seconds = elapsed();
      return { seconds: Math.round(seconds * 10) / 10, perSecond: perSecond(count, seconds) };
    },
  };
}
