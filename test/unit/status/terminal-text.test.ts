/** Fixed-width text primitives of `ferry top` (src/status/terminal-text.ts). */
import { expect, test } from "bun:test";
import { ago, bar, bytes, clean, compact, count, cut, duration, paint, sparkline, table, width } from "../../../src/status/terminal-text.ts";

test("width counts columns: wide characters two, combining marks none, colours none", () => {
  expect(width("abc")).toBe(3);
  expect(width("注文")).toBe(4);
  expect(width("e\u0301")).toBe(1);
  expect(width("\x1b[1mbold\x1b[0m")).toBe(4);
  expect(width("▁▂█·…")).toBe(5);
});

test("cut keeps at most w columns, marking a cut with …", () => {
  expect(cut("hello", 5)).toBe("hello");
  expect(cut("hello world", 5)).toBe("hell…");
  expect(cut("注文注文", 5)).toBe("注文…");
  expect(width(cut("注文注文", 4))).toBeLessThanOrEqual(4);
  expect(cut("abc", 0)).toBe("");
  expect(cut("abc", 1)).toBe("…");
});

test("clean turns control characters (escape sequences included) into harmless text", () => {
  expect(clean("a\x1b[2Jb")).toBe("a?[2Jb");
  expect(clean("line 1\nline 2\r\n\tend")).toBe("line 1 line 2 end");
  expect(clean("\u009b31m")).toBe("?31m");
});

test("figures for people", () => {
  expect(count(1234567)).toBe("1,234,567");
  expect([compact(0.25), compact(99.94), compact(713.3)]).toEqual(["0.3", "99.9", "713"]);
  expect([compact(950), compact(12345), compact(4_200_000), compact(999_999), compact(123_456_789)]).toEqual(["950", "12.3k", "4.2M", "1000k", "123M"]);
  expect([bytes(0), bytes(1536), bytes(4 * 2 ** 20), bytes(256 * 2 ** 20), bytes(3.5 * 2 ** 30)]).toEqual(["0 B", "1.5 KiB", "4 MiB", "256 MiB", "3.5 GiB"]);
  expect([duration(0), duration(45.9), duration(725), duration(3 * 3600 + 4 * 60 + 5), duration(2 * 86400 + 3 * 3600)]).toEqual(["0s", "45s", "12m05s", "3h04m", "2d03h"]);
  expect(ago("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:12.500Z")).toBe("12s ago");
  expect(ago("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.200Z")).toBe("just now");
});

test("sparkline: one column per second up to `last`, scaled to max; unknown seconds and zero blank", () => {
  const values = new Map([
    [10, 100],
    [11, 50],
    [13, 1],
  ]);
  expect(sparkline(values, 13, 5, 100)).toBe(" █▄ ▁");
  expect(sparkline(values, 13, 2, 0)).toBe("  ");
  expect(bar(1, 4, 8)).toBe("██░░░░░░");
  expect(bar(5, 0, 3)).toBe("░░░");
});

test("a table drops its least useful columns when narrow, then cuts its flex column", () => {
  const cols = [{ head: "name" }, { head: "state", keep: 3 }, { head: "target", keep: 1 }, { head: "error", flex: true, keep: 2 }];
  const rows = [["kafka", "DOWN", "broker-1.example.com:9092", "Connection error: connect ECONNREFUSED 10.0.0.1:9092"]];
  const wide = table(cols, rows, 120);
  expect(wide[0]!.split(/\s+/)).toEqual(["name", "state", "target", "error"]);
  expect(wide[1]).toContain("ECONNREFUSED 10.0.0.1:9092");
  // target (keep 1) goes before the error is cut below what it needs.
  const mid = table(cols, rows, 60);
  expect(mid[0]!.split(/\s+/)).toEqual(["name", "state", "error"]);
  const narrow = table(cols, rows, 24);
  expect(narrow[0]!.split(/\s+/)).toEqual(["name", "state", "error"]);
  expect(narrow[1]).toMatch(/^kafka\s+DOWN\s+Conn.*…$/);
  for (const w of [1, 5, 10, 24, 60]) for (const line of table(cols, rows, w)) expect(width(line)).toBeLessThanOrEqual(w);
  // Right-aligned figures line up.
  const nums = table([{ head: "p" }, { head: "lag", align: "right" }], [["0", "5"], ["1", "1,000"]], 20);
  expect(nums).toEqual(["p    lag", "0      5", "1  1,000"]);
});

test("paint: the whole screen at first, then only the rows that changed, all in one synchronized write", () => {
  const first = paint(undefined, ["a", "b", "c"]);
  expect(first.startsWith("\x1b[?2026h\x1b[H\x1b[2J")).toBe(true);
  expect(first.endsWith("\x1b[?2026l")).toBe(true);
  for (const [row, text] of [[1, "a"], [2, "b"], [3, "c"]] as const) expect(first).toContain(`\x1b[${row};1H\x1b[2K${text}`);
  expect(paint(["a", "b", "c"], ["a", "b", "c"])).toBe("");
  const next = paint(["a", "b", "c"], ["a", "B", "c"]);
  expect(next).toBe("\x1b[?2026h\x1b[2;1H\x1b[2KB\x1b[0m\x1b[?2026l");
  // Fewer rows than before: the rest is cleared.
  expect(paint(["a", "b"], ["a"])).toContain("\x1b[2;1H\x1b[2K");
});
