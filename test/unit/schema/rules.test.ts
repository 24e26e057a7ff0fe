/** The timestamp checks' arithmetic fast path gives what the Date-based reference gives. */
import { expect, test } from "bun:test";
import { EARLIEST_TIMESTAMP, isNotBefore1900, isRealTimestamp } from "../../../src/schema/rules.ts";

/** The plain Date-based meaning of both checks (the code before the fast path). */
function reference(s: string) {
  const t = Date.parse(s.replace(" ", "T"));
  const [y, m, d] = s.slice(0, 10).split("-").map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, m - 1, d));
  const real = !Number.isNaN(t) && probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d;
  return { real, notBefore1900: t >= Date.parse(EARLIEST_TIMESTAMP) };
}

test("isRealTimestamp and isNotBefore1900 agree with the Date-based reference", () => {
  const samples: string[] = [];
  for (const y of [99, 999, 1000, 1899, 1900, 1901, 2000, 2024, 2026, 2100, 9999]) {
    for (const m of [0, 1, 2, 4, 12, 13]) {
      for (const d of [0, 1, 28, 29, 30, 31, 32]) {
        const date = `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
        for (const time of ["T00:00:00Z", "T23:59:59.999Z", "T24:00:00Z", "T12:60:00Z", "T12:00:60Z", "T12:00:00.5Z", " 12:00:00Z", "T00:30:00+01:00", "T12:00Z"]) {
          samples.push(date + time);
        }
      }
    }
  }
  samples.push("", "x", "March 7, 2026", "2026-11-18", "２０２６-11-18T00:00:00Z", "2026-1a-18T00:00:00Z");
  for (const s of samples) {
    const want = reference(s);
    expect({ s, real: isRealTimestamp(s), notBefore1900: isNotBefore1900(s) }).toEqual({ s, ...want });
  }
});
