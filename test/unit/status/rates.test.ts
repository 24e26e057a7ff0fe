import { describe, expect, test } from "bun:test";
import { RateHistory } from "../../../src/status/rates.ts";

describe("RateHistory", () => {
  test("each second's growth of the totals is that second's sample", () => {
    const h = new RateHistory();
    h.note(10_000, { in: 0, out: 0 });
    h.note(10_500, { in: 5, out: 1 }); // same second: waits for the next note
    h.note(11_000, { in: 7, out: 3 });
    h.note(12_000, { in: 17, out: 13 });
    expect(h.list()).toEqual([
      { t: 10, in: 7, out: 3 },
      { t: 11, in: 10, out: 10 },
    ]);
  });

  test("a late note spreads the growth over the seconds it missed (no holes, nothing lost)", () => {
    const h = new RateHistory();
    h.note(0, { in: 0, out: 0 });
    h.note(3_200, { in: 10, out: 3 });
    const s = h.list();
    expect(s.map((x) => x.t)).toEqual([0, 1, 2]);
    expect(s.reduce((n, x) => n + x.in, 0)).toBe(10);
    expect(s.reduce((n, x) => n + x.out, 0)).toBe(3);
    expect(s.map((x) => x.in)).toEqual([3, 3, 4]);
  });

  test("keeps the last N seconds; totals that go back count as 0, never negative", () => {
    const h = new RateHistory(5);
    h.note(0, { in: 0, out: 0 });
    for (let s = 1; s <= 20; s++) h.note(s * 1000, { in: s * 2, out: s });
    h.note(21_000, { in: 0, out: 0 });
    const list = h.list();
    expect(list.length).toBe(5);
    expect(list.map((x) => x.t)).toEqual([16, 17, 18, 19, 20]);
    expect(list.at(-1)).toEqual({ t: 20, in: 0, out: 0 });
    expect(list[0]).toEqual({ t: 16, in: 2, out: 1 });
  });
});
