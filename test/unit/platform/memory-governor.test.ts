import { expect, test } from "bun:test";
import { memoryGovernor } from "../../../src/platform/process.ts";

test("collects only every N records, and only above the soft limit", () => {
  const low = memoryGovernor({ softLimitMb: 0, everyRecords: 10 });
  low.note(5);
  expect(low.stats.collections).toBe(0);
  low.note(5);
  expect(low.stats.collections).toBe(1);
  low.note(9);
  expect(low.stats.collections).toBe(1);
  low.note(1);
  expect(low.stats.collections).toBe(2);

  const high = memoryGovernor({ softLimitMb: 1 << 20, everyRecords: 10 });
  for (let i = 0; i < 10; i++) high.note(10);
  expect(high.stats.collections).toBe(0);
});
