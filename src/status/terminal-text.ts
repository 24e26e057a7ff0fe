/**
 * Text for a fixed-width terminal, without the terminal: display widths, cutting to a width,
 * tables that drop their least useful columns when narrow, sparklines, bars, human figures, and
 * the escape sequences that turn one frame into the next (`paint`). Pure functions: the view
 * (terminal.ts) and `ferry top` build on them.
 */

// ─── widths ─────────────────────────────────────────────────────────────────────────────────────

/** Wide (two-column) code point ranges: CJK, Hangul, full-width forms, emoji. */
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf],
  [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60], [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
];

/** Columns a code point takes: 0 for combining marks, 2 for wide ones, else 1. */
export function charWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f) return 0;
  for (const [lo, hi] of WIDE) if (cp >= lo && cp <= hi) return 2;
  return 1;
}

const SGR = /\x1b\[[0-9;]*m/g;

/** The text without its colours (SGR sequences). */
export const plain = (s: string) => s.replace(SGR, "");

/** Columns `s` takes on the screen (colours take none). */
export function width(s: string): number {
  let w = 0;
  for (const ch of plain(s)) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/**
 * Text from elsewhere (a server's error, a topic name) made safe to print: control characters
 * (an escape sequence would act on the terminal) become "?", line breaks and tabs a space.
 */
export function clean(s: string): string {
  return s.replace(/[\t\n\r]+/g, " ").replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}

/** Cut to at most `w` columns, with "…" when something was cut. Plain text only. */
export function cut(s: string, w: number): string {
  if (w <= 0) return "";
  if (width(s) <= w) return s;
  let out = "";
  let used = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (used + cw > w - 1) break;
    out += ch;
    used += cw;
  }
  return `${out}…`;
}

export const padEnd = (s: string, w: number) => s + " ".repeat(Math.max(0, w - width(s)));
export const padStart = (s: string, w: number) => " ".repeat(Math.max(0, w - width(s))) + s;

// ─── figures ────────────────────────────────────────────────────────────────────────────────────

/** 1234567 → "1,234,567". */
export const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** 0.25 → "0.3", 713.3 → "713", 12345 → "12.3k", 4.2e6 → "4.2M". */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a < 100) return String(Math.round(n * 10) / 10);
  if (a < 1000) return String(Math.round(n));
  for (const [div, unit] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]] as const) {
    if (a >= div) {
      const x = n / div;
      return `${Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 10) / 10}${unit}`;
    }
  }
  return String(n);
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let x = n;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${x >= 100 ? Math.round(x) : Math.round(x * 10) / 10} ${units[u]}`;
}

/** Seconds → "45s", "12m05s", "3h04m", "2d03h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}

/** Milliseconds → "850 ms", "1.2 s". */
export const millis = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 100) / 10} s`);

/** How long before `now` the RFC 3339 time `at` was: "12s ago" ("just now" under a second). */
export function ago(at: string, now: string): string {
  const s = (Date.parse(now) - Date.parse(at)) / 1000;
  return s < 1 ? "just now" : `${duration(s)} ago`;
}

// ─── charts ─────────────────────────────────────────────────────────────────────────────────────

const BLOCKS = " ▁▂▃▄▅▆▇█";

/**
 * One character per second, the newest at the right: `values` by Unix second, `last` the newest
 * second shown, scaled so `max` is a full block. A second with nothing known is blank, as is 0.
 */
export function sparkline(values: ReadonlyMap<number, number>, last: number, w: number, max: number): string {
  let out = "";
  for (let t = last - w + 1; t <= last; t++) {
    const v = values.get(t) ?? 0;
    out += v <= 0 || max <= 0 ? " " : BLOCKS[Math.max(1, Math.min(8, Math.round((v / max) * 8)))];
  }
  return out;
}

/** A progress bar `w` columns wide: "███████░░░". */
export function bar(done: number, total: number, w: number): string {
  if (w <= 0) return "";
  const full = total <= 0 ? 0 : Math.max(0, Math.min(w, Math.round((done / total) * w)));
  return "█".repeat(full) + "░".repeat(w - full);
}

// ─── tables ─────────────────────────────────────────────────────────────────────────────────────

const FLEX_MIN = 12;

export interface Column {
  head: string;
  align?: "left" | "right";
  /** Columns go, lowest `keep` first, until the table fits (default 0; the first column stays). */
  keep?: number;
  /** The column that is cut (with "…") when dropping columns was not enough. */
  flex?: boolean;
}

/**
 * Rows under a header, as many columns as fit in `w` columns: the columns least worth keeping
 * go first, then the flex column is cut. Cells are plain text (cleaned here).
 */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[], w: number): string[] {
  const cells = rows.map((r) => r.map((c) => clean(c)));
  const natural = columns.map((c, i) => Math.max(width(c.head), ...cells.map((r) => width(r[i] ?? ""))));
  // The flex column counts as at most FLEX_MIN wide while deciding which columns fit.
  const least = natural.map((n, i) => (columns[i]!.flex ? Math.min(n, Math.max(FLEX_MIN, width(columns[i]!.head))) : n));
  const need = (cols: number[], of: number[], gap: number) => cols.reduce((sum, i) => sum + of[i]!, 0) + gap * (cols.length - 1);
  let shown = columns.map((_, i) => i);
  while (shown.length > 1 && need(shown, least, 1) > w) {
    const droppable = shown.slice(1);
    const lowest = droppable.reduce((a, b) => ((columns[b]!.keep ?? 0) < (columns[a]!.keep ?? 0) ? b : a), droppable[droppable.length - 1]!);
    shown = shown.filter((i) => i !== lowest);
  }
  // A flex column that would be cut makes room first by dropping the columns less worth keeping.
  const flexOf = (cols: number[]) => cols.find((i) => columns[i]!.flex) ?? cols[cols.length - 1]!;
  for (;;) {
    const flex = flexOf(shown);
    const lesser = shown.slice(1).filter((i) => i !== flex && (columns[i]!.keep ?? 0) < (columns[flex]!.keep ?? 0));
    if (need(shown, natural, 1) <= w || lesser.length === 0) break;
    const lowest = lesser.reduce((a, b) => ((columns[b]!.keep ?? 0) < (columns[a]!.keep ?? 0) ? b : a), lesser[lesser.length - 1]!);
    shown = shown.filter((i) => i !== lowest);
  }
  const gap = need(shown, natural, 2) <= w || need(shown, least, 2) <= w ? 2 : 1;
  const widths = new Map(shown.map((i) => [i, natural[i]!]));
  const over = need(shown, natural, gap) - w;
  if (over > 0) widths.set(flexOf(shown), Math.max(1, natural[flexOf(shown)]! - over));
  const line = (r: readonly string[]) =>
    cut(
      shown
        .map((i, k) => {
          const cw = widths.get(i)!;
          const text = cut(r[i] ?? "", cw);
          if (columns[i]!.align === "right") return padStart(text, cw);
          return k === shown.length - 1 ? text : padEnd(text, cw);
        })
        .join(" ".repeat(gap))
        .trimEnd(),
      w,
    );
  return [line(columns.map((c) => c.head)), ...cells.map(line)];
}

// ─── painting ───────────────────────────────────────────────────────────────────────────────────

/** Begin and end of a frame that terminals supporting synchronized output show at once. */
const SYNC_BEGIN = "\x1b[?2026h";
const SYNC_END = "\x1b[?2026l";

/**
 * The bytes that turn the screen showing `prev` into `next`: only the rows that changed, each
 * cleared and rewritten in place; the whole screen when `prev` is undefined (the first
 * frame, or after a resize). "" when nothing changed. Written in one write, there is no flicker.
 */
export function paint(prev: readonly string[] | undefined, next: readonly string[]): string {
  let out = prev === undefined ? "\x1b[H\x1b[2J" : "";
  for (let row = 0; row < next.length; row++) {
    if (prev !== undefined && prev[row] === next[row]) continue;
    // Cleared first, then written: a line reaching the last column leaves the cursor on it, where
    // clearing to the end of the line would erase that column's character.
    out += `\x1b[${row + 1};1H\x1b[2K${next[row]}\x1b[0m`;
  }
  if (prev !== undefined) for (let row = next.length; row < prev.length; row++) out += `\x1b[${row + 1};1H\x1b[2K`;
  return out === "" ? "" : SYNC_BEGIN + out + SYNC_END;
}
