/** `ferry top`'s screen (src/status/terminal.ts) over each mode's example snapshot, at several sizes. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { renderText, renderTop, type TopView } from "../../../src/status/terminal.ts";
import { count, plain, width } from "../../../src/status/terminal-text.ts";
import { STATUS_MODES, type StatusSnapshot } from "../../../src/status/types.ts";

const fixture = (mode: string): StatusSnapshot => JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/status", `${mode}.json`), "utf8"));
const URL = "http://127.0.0.1:8080";
const viewOf = (snapshot: StatusSnapshot, extra: Partial<TopView> = {}): TopView => {
  const now = Date.parse(snapshot.now) + 400;
  return { url: URL, snapshot, receivedAt: now - 300, now, ...extra };
};
/** Any escape sequence that is not a colour: it would move the cursor, retitle the window, … */
const NOT_A_COLOUR = /\x1b(?!\[[0-9;]*m)|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]/;
const SIZES = [
  [40, 24],
  [40, 60],
  [60, 24],
  [80, 24],
  [120, 50],
  [200, 80],
] as const;

/** The frame's invariants: `rows` lines, none wider than `columns`, nothing but colours for escapes. */
function expectFits(lines: string[], columns: number, rows: number) {
  expect(lines.length).toBe(rows);
  const tooWide = lines.filter((l) => width(l) > columns);
  expect(tooWide).toEqual([]);
  expect(lines.filter((l) => NOT_A_COLOUR.test(l))).toEqual([]);
}

/** Every line the view has, scrolling through it, as plain text (header lines once). */
function allLines(view: TopView, columns: number, rows: number): string[] {
  const first = renderTop(view, columns, rows);
  const out = first.lines.slice(0, 2).map(plain);
  const body: string[] = [];
  for (let scroll = 0; body.length < first.maxScroll + rows - 3; scroll += rows - 3) {
    // The last page is scrolled no further than maxScroll: it overlaps the one before.
    const start = Math.min(scroll, first.maxScroll);
    const page = renderTop({ ...view, scroll }, columns, rows).lines.slice(2, -1).map(plain);
    body.push(...page.slice(body.length - start));
  }
  return [...out, ...body];
}

/** What each mode's screen must tell, whatever its width. */
const MUST_SHOW: Record<(typeof STATUS_MODES)[number], (s: StatusSnapshot) => string[]> = {
  run: (s) => [
    `${count(s.run!.ingress.in_flight)} / ${count(s.run!.ingress.max_in_flight)}`,
    `${count(s.run!.journal_rows)} rows awaiting rollup`,
    ...s.run!.ingress.requests.map((r) => `${r.status} ×${count(r.count)}`),
    "WAL 4 MiB",
  ],
  serve: (s) => [`topic ${s.serve!.topic}`, ...s.serve!.ingress.requests.map((r) => `${r.status} ×${count(r.count)}`), "DOWN"],
  sink: (s) => [`group ${s.sink!.group}`, `Dead letters · ${count(s.sink!.dead_letters.count)} since start`, "18,000 records behind", "Batches"],
  export: (s) => [`${s.export!.ranges.done}/${s.export!.ranges.total} ranges`, `${count(s.export!.rows)} rows`, `checkpoint ${s.export!.checkpoint!.file}`],
  generate: (s) => [`sent ${count(s.generate!.sent)}`, `accepted ${count(s.generate!.accepted)}`, `refused ${count(s.generate!.refused)}`, "rate limit 5k records/s"],
};

describe("each mode's snapshot", () => {
  for (const mode of STATUS_MODES) {
    const s = fixture(mode);
    for (const [columns, rows] of SIZES) {
      test(`${mode} at ${columns}×${rows}: fits, and tells the mode's figures`, () => {
        const view = viewOf(s);
        const frame = renderTop(view, columns, rows);
        expectFits(frame.lines, columns, rows);
        const text = allLines(view, columns, rows);
        const joined = text.join("\n");
        expect(text[0]).toContain(`${mode} ${s.version}`);
        expect(text[1]).toContain(URL);
        for (const must of [count(s.totals.in), count(s.totals.out), ...MUST_SHOW[mode](s)]) expect(joined).toContain(must);
        for (const d of s.dependencies) expect(joined).toContain(d.name);
        // Each down dependency's last error, in full (wrapped over lines).
        const flat = text.map((l) => l.trim()).join(" ");
        for (const d of s.dependencies.filter((x) => x.state === "down")) expect(flat).toContain(d.last_error!.split(" ").slice(0, 3).join(" "));
        for (const w of s.warnings) expect(flat).toContain(w.message.split(" ").slice(0, 4).join(" "));
        // The footer tells whether there is more below.
        expect(plain(frame.lines.at(-1)!)).toMatch(frame.maxScroll > 0 ? /q quit · ↑↓ scroll \(\d+ below\)/ : /^q quit$/);
      });
    }
  }

  test("the sink's lag rows keep topic, partition and lag even at 40 columns; wider screens add offsets", () => {
    const s = fixture("sink");
    const narrow = allLines(viewOf(s), 40, 80);
    const lagHead = narrow.find((l) => /^topic\s+part/.test(l))!;
    expect(lagHead.split(/\s+/)).toContain("lag");
    const row0 = s.sink!.lag[0]!;
    expect(narrow).toContainEqual(expect.stringMatching(new RegExp(`^${row0.topic}\\s+${row0.partition}\\s.*\\s${count(row0.lag!).replace(",", "\\,")}$`)));
    const wide = allLines(viewOf(s), 120, 80);
    expect(wide.find((l) => /^topic\s+part/.test(l))!.split(/\s+/)).toEqual(["topic", "part", "next", "end", "lag"]);
    expect(wide.join("\n")).toContain(count(row0.high_watermark!));
  });

  test("scrolling shows every line of the full text exactly once, in order", () => {
    const s = fixture("sink");
    const [columns, rows] = [60, 15];
    expect(allLines(viewOf(s), columns, rows).map((l) => l.trimEnd()).filter((l, i) => i < 2 || l !== "")).toEqual(
      renderText(viewOf(s), columns).filter((l, i) => i < 2 || l !== ""),
    );
    const last = renderTop({ ...viewOf(s), scroll: 10_000 }, columns, rows);
    expect(plain(last.lines.at(-1)!)).toMatch(/\(\d+ above\)$/);
  });

  test("the rate chart: one column per second, the newest at the right, scaled to the largest shown", () => {
    const s = fixture("run");
    const t = s.rates.samples.at(-1)!.t;
    const samples = [
      { t: t - 2, in: 100, out: 0 },
      { t: t - 1, in: 50, out: 0 },
      { t, in: 0, out: 100 },
    ];
    const text = renderText(viewOf({ ...s, rates: { interval_s: 1, samples } }), 40);
    const chart = text.find((l) => /^in  .*max/.test(l))!;
    expect(chart).toMatch(/^in  \s*█▄  max 100\/s$/);
    expect(text[text.indexOf(chart) + 1]).toMatch(/^out \s*█$/);
  });

  test("records per second now and over the last minute come from the samples", () => {
    const s = fixture("run");
    const t = s.rates.samples.at(-1)!.t;
    const samples = Array.from({ length: 90 }, (_, i) => ({ t: t - 89 + i, in: i < 30 ? 9999 : 1200, out: 600 }));
    const row = renderText(viewOf({ ...s, rates: { interval_s: 1, samples } }), 80).find((l) => l.startsWith("in "))!;
    expect(row.split(/\s+/).slice(0, 3)).toEqual(["in", "1.2k", "1.2k"]);
  });
});

describe("while the server cannot be read", () => {
  test("before any snapshot: what fails, how often it was tried and for how long, at 40 columns too", () => {
    for (const [columns, rows] of [[40, 12], [80, 24]] as const) {
      const view: TopView = { url: URL, now: 20_000, problem: { message: `cannot reach ${URL}/status.json: connection refused (is ferry running there?)`, since: 8_000, tries: 12 } };
      const frame = renderTop(view, columns, rows);
      expectFits(frame.lines, columns, rows);
      const flat = frame.lines.map((l) => plain(l).trim()).join(" ");
      expect(flat).toContain("cannot reach");
      expect(flat).toContain("connection refused (is ferry running there?)");
      expect(flat).toContain("12 tries, for 12s");
    }
  });

  test("after a snapshot: the last one stays, the second line says what fails and how old the data is", () => {
    const s = fixture("run");
    const view = viewOf(s, { problem: { message: "cannot reach http://127.0.0.1:8080/status.json: no answer in time", since: 0, tries: 3 } });
    view.now = view.receivedAt! + 7_000;
    const lines = renderTop(view, 80, 24).lines.map(plain);
    expect(lines[1]).toStartWith("data 7s old · cannot reach http://127.0.0.1:8080/status.json");
    expect(lines.join("\n")).toContain(count(s.totals.in));
  });

  test("connecting: says so", () => {
    expect(renderTop({ url: URL, now: 0 }, 40, 5).lines.map(plain)).toContain(`connecting to ${URL} …`);
  });
});

describe("any size, any text from the server", () => {
  test("tiny screens do not break the bounds", () => {
    for (const mode of STATUS_MODES) for (const [c, r] of [[1, 1], [5, 2], [10, 3], [12, 4], [20, 6]] as const) expectFits(renderTop(viewOf(fixture(mode)), c, r).lines, c, r);
  });

  test("hostile and wide text (escape sequences, line breaks, CJK) stays within the frame and cannot act on the terminal (property)", () => {
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "grapheme", maxLength: 40 }), fc.constantFrom("\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "注文の取り込みに失敗しました", "a\r\nb\tc", "\u009b31m"));
    const base = fixture("sink");
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 160 }), fc.integer({ min: 1, max: 60 }), text, text, text, (columns, rows, topic, error, warning) => {
        const s: StatusSnapshot = structuredClone(base);
        s.sink!.lag[0]!.topic = topic;
        s.sink!.dead_letters.last[0]!.reason = error;
        s.dependencies[0] = { ...s.dependencies[0]!, state: "down", last_error: error };
        s.warnings = [{ code: "x", message: warning }];
        s.config.topic = [topic];
        const view = viewOf(s);
        const frame = renderTop(view, columns, rows);
        expectFits(frame.lines, columns, rows);
        for (const line of renderText(view, columns)) {
          expect(width(line)).toBeLessThanOrEqual(columns);
          expect(NOT_A_COLOUR.test(line) || line.includes("\x1b")).toBe(false);
        }
      }),
      { numRuns: 300, seed: 22 },
    );
  });
});
