/**
 * Records in and out per second for the last few minutes: the totals are noted once a second and
 * what they grew by since the previous note is that second's sample. A note that comes late (a
 * busy event loop) spreads the growth over the seconds it missed, so the history has no holes.
 */
import type { RateSample } from "./types.ts";

export interface InOut {
  in: number;
  out: number;
}

/** Five minutes of one-second samples. */
export const RATE_SECONDS = 300;

export class RateHistory {
  private readonly samples: RateSample[] = [];
  private last: { second: number; in: number; out: number } | undefined;

  constructor(private readonly keep = RATE_SECONDS) {}

  /** Notes the totals at `nowMs`; the growth since the previous note goes to the seconds that ended since. */
  note(nowMs: number, totals: InOut): void {
    const second = Math.floor(nowMs / 1000);
    const last = this.last;
    if (last === undefined) {
      this.last = { second, in: totals.in, out: totals.out };
      return;
    }
    if (second <= last.second) return; // the same second: its growth goes with the next note
    const seconds = Math.min(second - last.second, this.keep);
    const grewIn = Math.max(0, totals.in - last.in);
    const grewOut = Math.max(0, totals.out - last.out);
    for (let i = 0; i < seconds; i++) {
      const t = second - seconds + i;
      this.samples.push({ t, in: share(grewIn, seconds, i), out: share(grewOut, seconds, i) });
    }
    if (this.samples.length > this.keep) this.samples.splice(0, this.samples.length - this.keep);
    this.last = { second, in: totals.in, out: totals.out };
  }

  /** Oldest first (a copy). */
  list(): RateSample[] {
    return this.samples.slice();
  }
}

/** The i-th of n integer shares of `total` (the remainder goes to the last ones). */
function share(total: number, n: number, i: number): number {
  const base = Math.floor(total / n);
  return base + (i >= n - (total - base * n) ? 1 : 0);
}
