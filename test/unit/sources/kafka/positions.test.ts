/** Where the Kafka source stands: a new assignment's start, progress by partition, and "caught up" against the ends at start. */
import { describe, expect, test } from "bun:test";
import { tpKey } from "../../../../src/pipeline/partitions.ts";
import { placement, Positions } from "../../../../src/sources/kafka/positions.ts";

const tp = (partition: number) => ({ topic: "t", partition });

describe("placement of a new assignment", () => {
  test("max(stored by the sink, committed in Kafka); the earliest when neither; Kafka told when the sink is ahead", () => {
    const stored = new Map([
      [0, 50],
      [1, 10],
      [3, 7],
    ]);
    const committed = new Map([
      [tpKey("t", 0), 40],
      [tpKey("t", 1), 20],
      [tpKey("t", 2), 5],
    ]);
    const { placed, behind } = placement([tp(0), tp(1), tp(2), tp(3), tp(4)], (x) => stored.get(x.partition), committed);
    expect(placed).toEqual([
      { ...tp(0), position: 50 },
      { ...tp(1), position: 20 },
      { ...tp(2), position: 5 },
      { ...tp(3), position: 7 },
      { ...tp(4), position: undefined },
    ]);
    expect(behind).toEqual([
      { ...tp(0), offset: "50" },
      { ...tp(3), offset: "7" },
    ]);
  });
});

describe("Positions", () => {
  function at(ends: Record<number, [high: number, low: number]>) {
    const p = new Positions();
    for (const [partition, [high, low]] of Object.entries(ends)) p.noteEnds(p.startEnds, "t", Number(partition), high, low);
    return p;
  }

  test("caught up: every assigned partition at its end at start, counting fetches or commits; the low watermark for a partition never read", () => {
    const p = at({ 0: [10, 0], 1: [5, 5] });
    p.assign(tp(0), undefined);
    p.assign(tp(1), undefined);
    expect(p.atStartEnds("committed")).toBe(false); // partition 0 at its low watermark 0
    p.fetchedUpTo("t", 0, 10);
    expect(p.atStartEnds("fetched")).toBe(true);
    expect(p.atStartEnds("committed")).toBe(false);
    p.advance([{ topic: "t", partition: 0, firstOffset: 0, lastOffset: 9, records: 10 }]);
    expect(p.atStartEnds("committed")).toBe(true);
    expect(p.assigned.get(tpKey("t", 0))!.next).toBe(10);
  });

  test("a commit advances only partitions still assigned; clear forgets the assignment, fetches and highs", () => {
    const p = at({ 0: [10, 0] });
    p.assign(tp(0), 3);
    p.highs.set(tpKey("t", 0), 10);
    p.advance([{ topic: "t", partition: 1, firstOffset: 0, lastOffset: 4, records: 5 }]);
    expect([...p.assigned.keys()]).toEqual([tpKey("t", 0)]);
    expect(p.isAssigned("t", 0)).toBe(true);
    p.clear();
    expect([p.assigned.size, p.highs.size, p.isAssigned("t", 0)]).toEqual([0, 0, false]);
    expect(p.atStartEnds("committed")).toBe(true); // nothing assigned
    expect(p.startEnds.get(tpKey("t", 0))).toBe(10); // the ends at start stay
  });
});
