/** Batches processed side by side, committed in order; a batch that is not made durable stops every later commit. */
import { describe, expect, test } from "bun:test";
import { OrderedCommits } from "../../../../src/sources/kafka/ordered-commits.ts";

interface B {
  ranges: [];
  n: number;
}

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

function setup(commitFails: (n: number) => boolean = () => false) {
  const events: string[] = [];
  const processing = new Map<number, ReturnType<typeof deferred>>();
  const failures: unknown[] = [];
  const c = new OrderedCommits<B>({
    process: (b) => {
      events.push(`process ${b.n}`);
      const d = deferred();
      processing.set(b.n, d);
      return d.promise;
    },
    advance: (b) => void events.push(`advance ${b.n}`),
    commit: async (b) => {
      events.push(`commit ${b.n}`);
      if (commitFails(b.n)) throw new Error(`commit ${b.n} refused`);
    },
    committed: (b) => void events.push(`committed ${b.n}`),
    commitFailed: (b, e) => void events.push(`commit failed ${b.n}: ${(e as Error).message}`),
    failed: (e) => void failures.push(e),
  });
  const batch = (n: number): B => ({ ranges: [], n });
  return { c, events, processing, failures, batch };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("OrderedCommits", () => {
  test("a later batch finished first waits for the earlier one's commit", async () => {
    const { c, events, processing, batch } = setup();
    expect([c.nextSequence(), c.nextSequence()]).toEqual([1, 2]);
    const one = c.hand(batch(1));
    const two = c.hand(batch(2));
    expect(events).toEqual(["process 1", "process 2"]); // both at once
    processing.get(2)!.resolve();
    await tick();
    expect(events).toEqual(["process 1", "process 2"]);
    processing.get(1)!.resolve();
    await Promise.all([one, two]);
    expect(events).toEqual(["process 1", "process 2", "advance 1", "commit 1", "committed 1", "advance 2", "commit 2", "committed 2"]);
  });

  test("settled and olderSettled: the last batch handed on, and the one before it", async () => {
    const { c, processing, batch } = setup();
    let older = false;
    let last = false;
    c.hand(batch(1));
    c.hand(batch(2));
    c.olderSettled().then(() => (older = true));
    c.settled().then(() => (last = true));
    processing.get(1)!.resolve();
    await tick();
    expect([older, last]).toEqual([true, false]);
    processing.get(2)!.resolve();
    await tick();
    expect(last).toBe(true);
  });

  test("a batch not made durable: failed once, it and every later batch rejected, nothing committed past it", async () => {
    const { c, events, processing, failures, batch } = setup();
    const one = c.hand(batch(1));
    const two = c.hand(batch(2));
    processing.get(2)!.resolve();
    processing.get(1)!.reject(new Error("disk full"));
    await expect(one).rejects.toThrow("disk full");
    await expect(two).rejects.toThrow("disk full");
    await expect(c.hand(batch(3))).rejects.toThrow("disk full");
    expect(events).toEqual(["process 1", "process 2"]);
    expect(failures.map((e) => (e as Error).message)).toEqual(["disk full"]);
    await c.settled(); // never rejects
  });

  test("a failed commit is reported and the next batches go on", async () => {
    const { c, events, processing, batch } = setup((n) => n === 1);
    const one = c.hand(batch(1));
    const two = c.hand(batch(2));
    processing.get(1)!.resolve();
    processing.get(2)!.resolve();
    await Promise.all([one, two]);
    expect(events).toEqual(["process 1", "process 2", "advance 1", "commit 1", "commit failed 1: commit 1 refused", "advance 2", "commit 2", "committed 2"]);
  });
});
