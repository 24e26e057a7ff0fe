/**
 * Whether Kafka is reachable, as the producers see it: one log line when it becomes unreachable
 * (why), one when it is back (after how long). Retries in between are debug lines at most.
 */
import type { Logger } from "../log/logger.ts";

export class Availability {
  private downSince: number | undefined;
  private why: string | undefined;
  private readonly listeners: ((up: boolean, reason?: string) => void)[] = [];

  constructor(
    private readonly log: Logger,
    private readonly what = "kafka",
  ) {}

  get up(): boolean {
    return this.downSince === undefined;
  }

  get reason(): string | undefined {
    return this.why;
  }

  onChange(listener: (up: boolean, reason?: string) => void): void {
    this.listeners.push(listener);
  }

  down(reason: string): void {
    this.why = reason;
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.log.warn(`${this.what} unavailable`, { reason });
    for (const l of this.listeners) l(false, reason);
  }

  /** Reports that Kafka answered. */
  reached(): void {
    if (this.downSince === undefined) return;
    const afterMs = Date.now() - this.downSince;
    this.downSince = undefined;
    this.why = undefined;
    this.log.notice(`${this.what} reachable again`, { afterMs });
    for (const l of this.listeners) l(true);
  }
}
