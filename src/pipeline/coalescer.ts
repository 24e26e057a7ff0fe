/**
 * Group commit: callers submit small groups of items and each waits for its own items to be
 * durable, while the items of concurrent callers are written together in shared batches.
 * At most `maxInFlight` batches are written at once. A batch closes when it holds `maxItems`
 * items, or:
 *  - with `lingerMs` 0 (adaptive): as soon as a write slot is free, after the current turn of the
 *    event loop; while every slot is busy, items gather and the batch closes when one frees up.
 *    Batches grow with load and an idle system adds no delay.
 *  - with `lingerMs` > 0: that long after its first item arrived (like Kafka's linger.ms).
 */

/** Observes each written batch: its size, how long the write took, and its error if it failed. */
export type FlushObserver = (size: number, ms: number, error?: unknown) => void;

export interface CoalescerOptions<T> {
  maxItems: number;
  lingerMs: number;
  maxInFlight: number;
  /** Writes one batch; resolves once every item is durable. */
  flush: (items: T[]) => Promise<void>;
  /** Observes each flushed batch (size, duration, error) for metrics. */
  onFlush?: FlushObserver;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Coalescer<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private turnScheduled = false;
  private inFlight = 0;
  private inFlightItems = 0;
  private readonly queued: { items: T[]; waiters: Waiter[] }[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: CoalescerOptions<T>) {}

  /** Items accepted but not yet durable. */
  get pending(): number {
    return this.items.length + this.queued.reduce((n, b) => n + b.items.length, 0) + this.inFlightItems;
  }

  /** Of those, items waiting for a write slot (not yet being written). */
  get waiting(): number {
    return this.pending - this.inFlightItems;
  }

  submit(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // A group larger than a batch still travels whole: it is one request's records.
      if (this.items.length > 0 && this.items.length + items.length > this.opts.maxItems) this.close();
      for (const item of items) this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.opts.maxItems) this.close();
      else if (this.opts.lingerMs > 0) this.timer ??= setTimeout(() => this.close(), this.opts.lingerMs);
      else if (!this.turnScheduled) {
        this.turnScheduled = true;
        setImmediate(() => {
          this.turnScheduled = false;
          if (this.inFlight < this.opts.maxInFlight && this.queued.length === 0) this.close();
        });
      }
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
          // Adaptive mode: what gathered while every slot was busy goes now.
          if (this.opts.lingerMs === 0 && this.queued.length === 0 && this.items.length > 0) this.close();
          this.pump();
          if (this.inFlight === 0 && this.queued.length === 0 && this.items.length === 0) {
            for (const r of this.idleWaiters.splice(0)) r();
          }
        });
    }
  }
}
