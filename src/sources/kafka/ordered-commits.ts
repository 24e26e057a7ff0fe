/**
 * Batches made durable side by side, committed in order. A batch handed on is processed at once
 * (the sink works on it beside the one in flight, keeping the order itself); its offsets are
 * committed only after it is durable and after every earlier batch is committed. A batch that
 * cannot be made durable breaks the chain: no later batch is committed past it, and `failed` is
 * told once.
 */
import type { PartitionRange } from "./types.ts";

export interface OrderedCommitsOptions<B> {
  /** Makes a batch durable. */
  process(batch: B): Promise<void>;
  /** The batch is durable and every earlier one committed: its ranges are now the positions. */
  advance(batch: B): void;
  /** Commits the batch's offsets (to Kafka). */
  commit(batch: B): Promise<void>;
  committed(batch: B): void;
  /** The commit failed (the batch is durable all the same). */
  commitFailed(batch: B, error: unknown): void;
  /** A batch could not be made durable. */
  failed(error: unknown): void;
}

export class OrderedCommits<B extends { ranges: PartitionRange[] }> {
  /** The last batch handed on (settles once committed) and the one before it. */
  private inFlight: Promise<void> = Promise.resolve();
  private beforeInFlight: Promise<void> = Promise.resolve();
  private broken: unknown;
  private sequence = 0;

  constructor(private readonly opts: OrderedCommitsOptions<B>) {}

  /** 1, 2, 3…: the number of the next batch. */
  nextSequence(): number {
    return ++this.sequence;
  }

  /** Processes the batch now, commits it after the earlier ones; resolves once committed. */
  hand(batch: B): Promise<void> {
    const previous = this.inFlight;
    const work = this.processAndCommit(batch, previous);
    this.beforeInFlight = this.inFlight;
    this.inFlight = work.catch(() => {});
    return work;
  }

  /** Settles once the last batch handed on is committed (or failed); never rejects. */
  settled(): Promise<void> {
    return this.inFlight;
  }

  /** Settles once the batch before the last one is (at most two batches in flight while a third fills). */
  olderSettled(): Promise<void> {
    return this.beforeInFlight;
  }

  private async processAndCommit(batch: B, previous: Promise<void>): Promise<void> {
    if (this.broken) throw this.broken;
    try {
      await this.opts.process(batch);
    } catch (e) {
      this.broken ??= e;
      this.opts.failed(e);
      throw e;
    }
    await previous;
    if (this.broken) throw this.broken;
    this.opts.advance(batch);
    try {
      await this.opts.commit(batch);
      this.opts.committed(batch);
    } catch (e) {
      this.opts.commitFailed(batch, e);
    }
  }
}
