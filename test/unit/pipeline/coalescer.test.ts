import { describe, expect, test } from "bun:test";
import { Coalescer } from "../../../src/pipeline/coalescer.ts";

/** A flush that completes only when the test says so. */
function controlledFlush() {
  const batches: number[][] = [];
  const release: (() => void)[] = [];
  const fail: ((e: Error) => void)[] = [];
  const flush = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push(items);
      release.push(resolve);
      fail.push(reject);
    });
  return { batches, release, fail, flush };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("Coalescer", () => {
  test("adaptive: an idle coalescer writes at once; items gather while the slot is busy", async () => {
    const f = controlledFlush();
    const c = new Coalescer<number>({ maxItems: 100, lingerMs: 0, maxInFlight: 1, flush: f.flush });
    const p1 = c.submit([1]);
    await tick();
    expect(f.batches).toEqual([[1]]);
    const later = [c.submit([2, 3]), c.submit([4])];
    await tick();
    expect(f.batches).toHaveLength(1); // slot busy: 2,3,4 wait together
    expect(c.pending).toBe(4);
    f.release[0]!();
    await p1;
    await tick();
    expect(f.batches).toEqual([[1], [2, 3, 4]]);
    f.release[1]!();
    await Promise.all(later);
    expect(c.pending).toBe(0);
  });

  test("each caller waits for its own batch, and a failed batch rejects only its callers", async () => {
    const f = controlledFlush();
    const c = new Coalescer<number>({ maxItems: 2, lingerMs: 0, maxInFlight: 2, flush: f.flush });
    const a = c.submit([1, 2]);
    const b = c.submit([3]);
    await tick();
    expect(f.batches).toEqual([[1, 2], [3]]);
    f.fail[1]!(new Error("boom"));
    await expect(b).rejects.toThrow("boom");
    f.release[0]!();
    await expect(a).resolves.toBeUndefined();
  });

  test("a group larger than maxItems travels whole; maxItems closes a batch at once", async () => {
    const f = controlledFlush();
    const c = new Coalescer<number>({ maxItems: 3, lingerMs: 10_000, maxInFlight: 4, flush: f.flush });
    void c.submit([1]);
    void c.submit([2, 3, 4, 5]);
    expect(f.batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  test("linger > 0 waits that long for more items", async () => {
    const f = controlledFlush();
    const c = new Coalescer<number>({ maxItems: 100, lingerMs: 30, maxInFlight: 1, flush: f.flush });
    void c.submit([1]);
    await tick();
    void c.submit([2]);
    expect(f.batches).toEqual([]);
    await Bun.sleep(50);
    expect(f.batches).toEqual([[1, 2]]);
  });

  test("at most maxInFlight batches are written at once; drain waits for all", async () => {
    const f = controlledFlush();
    let concurrent = 0;
    let peak = 0;
    const c = new Coalescer<number>({
      maxItems: 1,
      lingerMs: 0,
      maxInFlight: 2,
      flush: async (items) => {
        concurrent++;
        peak = Math.max(peak, concurrent);
        await f.flush(items);
        concurrent--;
      },
    });
    const all = [1, 2, 3, 4, 5].map((i) => c.submit([i]));
    await tick();
    expect(f.batches).toHaveLength(2);
    const drained = c.drain();
    while (f.batches.length < 5 || f.release.length > 0) {
      f.release.shift()?.();
      await tick();
    }
    await drained;
    await Promise.all(all);
    expect(peak).toBe(2);
    expect(f.batches.flat()).toEqual([1, 2, 3, 4, 5]);
  });
});
