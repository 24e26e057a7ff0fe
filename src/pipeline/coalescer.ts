/**
 * Group commit: callers submit small groups of items and each waits for its own items to be
 * durable, while the items of concurrent callers are written together in shared batches.
 * A batch closes when it holds `maxItems` items or `lingerMs` after its first item arrived;
 * at most `maxInFlight` batches are written at once (the rest wait, in order).
 */

export interface CoalescerOptions<T> {
  maxItems: number;
  lingerMs: number;
  maxInFlight: number;
  /** Writes one batch; resolves once every item is durable. */
  flush: (items: T[]) => Promise<void>;
  /** Observes each flushed batch (size, duration, error) for metrics. */
  onFlush?: (size: number, ms: number, error?: unknown) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Coalescer<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = 0;
  private readonly queued: { items: T[]; waiters: Waiter[] }[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: CoalescerOptions<T>) {}

  /** Items accepted but not yet durable. */
  get pending(): number {
    return this.items.length + this.queued.reduce((n, b) => n + b.items.length, 0) + this.inFlightItems;
  }
  private inFlightItems = 0;

  submit(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // A group larger than a batch still travels whole: it is one request's records.
      if (this.items.length > 0 && this.items.length + items.length > this.opts.maxItems) this.close();
      for (const item of items) this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.opts.maxItems) this.close();
      else this.timer ??= setTimeout(() => this.close(), this.opts.lingerMs);
    });
  }

  /** Closes the open batch now and resolves when nothing is pending. */
  async drain(): Promise<void> {
    this.close();
    if (this.inFlight === 0 && this.queued.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.items.length === 0) return;
    this.queued.push({ items: this.items, waiters: this.waiters });
    this.items = [];
    this.waiters = [];
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queued.length > 0) {
      const batch = this.queued.shift()!;
      this.inFlight++;
      this.inFlightItems += batch.items.length;
      const started = performance.now();
      this.opts
        .flush(batch.items)
        .then(
          () => {
            this.opts.onFlush?.(batch.items.length, performance.now() - started);
            for (const w of batch.waiters) w.resolve();
          },
          (e: unknown) => {
            this.opts.onFlush?.(batch.items.length, performance.now() - started, e);
            for (const w of batch.waiters) w.reject(e);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.inFlightItems -= batch.items.length;
          this.pump();
          if (this.inFlight === 0 && this.queued.length === 0 && this.items.length === 0) {
            for (const r of this.idleWaiters.splice(0)) r();
          }
        });
    }
  }
}
